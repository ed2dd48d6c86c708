#!/usr/bin/env node
/**
 * `npm run lint`'s layer check: dependency-cruiser with .dependency-cruiser.cjs over the
 * source, printing each wrong-way import or cycle with the rule's words (which layer may
 * use which). dependency-cruiser reports "no violations" when it could not read the
 * TypeScript at all, so a run that saw no modules fails too.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const CONFIG = fileURLToPath(new URL('../.dependency-cruiser.cjs', import.meta.url));
const config = require(CONFIG);
const comments = new Map(config.forbidden.map((rule) => [rule.name, rule.comment]));
const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src', 'channels', 'workers'];

const bin = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));
let stdout;
try {
  ({ stdout } = await promisify(execFile)(
    process.execPath,
    [bin, ...roots, '--config', CONFIG, '--output-type', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  ));
} catch (err) {
  // It exits non-zero when it finds violations; the report is still on stdout.
  if (!err.stdout) throw err;
  stdout = err.stdout;
}
const { summary, modules } = JSON.parse(stdout);
// An import it could not resolve is checked against no rule: say so rather than pass it.
const unresolved = modules.flatMap((m) =>
  m.dependencies.filter((d) => d.couldNotResolve).map((d) => `${m.source} → ${d.module}`),
);
for (const line of unresolved) console.error(`layers: could not resolve ${line}, so no rule checked it`);
if (!summary.totalCruised) {
  console.error('layers: dependency-cruiser read 0 modules (is typescript installed?): nothing was checked');
  process.exit(2);
}
const errors = summary.violations.filter((v) => v.rule.severity === 'error');
for (const v of errors) {
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ') : `${v.from} → ${v.to}`;
  console.error(`layers: ${v.rule.name}: ${path}\n  ${comments.get(v.rule.name) ?? ''}`);
}
console.log(
  `layers: ${summary.totalCruised} modules, ${summary.totalDependenciesCruised} imports, ${errors.length} wrong-way imports or cycles`,
);
process.exit(errors.length > 0 || unresolved.length > 0 ? 1 : 0);
