import { mkdirSync, writeFileSync } from 'node:fs';
import { mailThroughput } from './mail-throughput.ts';

/**
 * `npm run bench`: each scenario prints its figures with the baseline measured in the
 * same run, and the whole run is written to bench/results/latest.json.
 */
const recipients = Number(process.env.BENCH_RECIPIENTS ?? 10_000);

console.log(`mail throughput: ${recipients} recipients through hibiki all vs a bare nodemailer pool…`);
const mail = await mailThroughput(recipients, 8, Number(process.env.BENCH_ROUNDS ?? 3));
console.log(
  [
    `  medians of ${mail.rounds.length} rounds, node ${mail.nodeFlags.join(' ')}:`,
    `  bare nodemailer pool: ${mail.baseline.seconds} s, ${mail.baseline.perSecond} mails/s (${mail.connections} connections)`,
    `  hibiki (POST → last mail accepted): ${mail.hibiki.seconds} s, ${mail.hibiki.perSecond} recipients/s`,
    `  first mail after POST: ${mail.hibiki.firstMailMs} ms; worker peak RSS: ${mail.hibiki.workerPeakRssMiB} MiB`,
    `  ratio hibiki / baseline throughput: ${mail.ratio} (goal ≥ 0.8)`,
  ].join('\n'),
);

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/latest.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, mail }, null, 2)}\n`,
);
console.log('written to bench/results/latest.json');
