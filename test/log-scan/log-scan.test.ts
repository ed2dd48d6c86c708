import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLeakPatterns, type Leak, maskLeak } from './leak-patterns.ts';
import { scanDir } from './log-dir.ts';

/**
 * Runs after the whole suite (vitest.config.ts: the log-scan project's groupOrder) and
 * reads every line every Hibiki of the suite logged, in-process and as a child process,
 * at debug level. Logs must never hold a secret, a token or a resident's address.
 */

/** Secret values the suite configured (test/log-scan/log-dir.ts recordSecrets). */
function configuredSecrets(dir: string, files: string[]): string[] {
  return files
    .filter((f) => f.endsWith('-secrets.txt'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string);
}

/**
 * The deployment's own addresses the suite configures (its sender, a push contact): not
 * a resident's. Read from the logs' own start-up lines would be circular, so listed here.
 */
const OWN_ADDRESSES = ['noreply@hibiki.example.jp', 'hibiki@kikuchi.example.jp'];

interface Finding extends Leak {
  file: string;
  line: number;
  msg: string;
}

describe('the logs of the whole suite', () => {
  it('catch a planted token, secret, address and LINE user id (the scan can fail)', () => {
    const planted = 'hbk_Qm9ndXMtdG9rZW4tZm9yLXRoZS1zY2FuLWNoZWNrLXNhbXBsZQ';
    const patterns = createLeakPatterns(['configured-line-secret-1234']);
    const kinds = (line: string) => patterns.find(line).map((l) => l.kind);
    expect(kinds(JSON.stringify({ level: 30, msg: 'request', authorization: `Bearer ${planted}` }))).toContain(
      'staff token',
    );
    expect(kinds(JSON.stringify({ level: 40, msg: 'send failed', reason: '550 <r0001@example.jp> unknown' }))).toEqual([
      'e-mail address',
    ]);
    expect(kinds(JSON.stringify({ level: 30, msg: 'LINE follow', user: 'U4af4980629f2a3e1b4c1f5e5d8e5f3a1' }))).toEqual(
      ['LINE user id'],
    );
    expect(kinds(`{"msg":"endpoint","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`)).toContain('webhook secret');
    expect(kinds(`{"msg":"bad link","path":"/manage/q7Xz0Pk3Vb9LmN2sR4tY6uW8aC1eG5iK7oQ9dF3hJ0l"}`)).toEqual([
      'random secret',
    ]);
    expect(kinds(`{"msg":"form","csrf":"Zk3q9Lm2Xv7Pb4Rt8Ns1Wy6Hc0Jd5Ge3"}`)).toEqual(['CSRF token']);
    expect(kinds(`{"msg":"LINE refused","reason":"token configured-line-secret-1234 is wrong"}`)).toEqual([
      'configured secret',
    ]);
    // What ordinary lines hold: a request id, a notice id, a delivery key, hashes' neighbours.
    expect(
      kinds(
        JSON.stringify({
          level: 30,
          time: '2026-01-01T00:00:00.000Z',
          service: 'hibiki',
          requestId: '9f5e96d7-b662-49a5-9f9a-247326ddf572',
          deliveryKey: 'n01JH3Q8WZ6K2F9V7T5R4M3N2P1:mail:1:0',
          from: 'noreply@localhost',
          msg: 'mail batch finished',
        }),
      ),
    ).toEqual([]);
  });

  // Reads every line the whole suite logged (about 16,000, 8 MB): on a busy 2-core machine
  // that took 45 s, over the 30 s a single test gets.
  it('hold no token, secret, e-mail address or LINE user id', () => {
    const dir = scanDir() ?? '(no run directory)';
    const files = existsSync(dir) ? readdirSync(dir).sort() : [];
    const logs = files.filter((f) => f.endsWith('.jsonl'));
    const patterns = createLeakPatterns(configuredSecrets(dir, files), OWN_ADDRESSES);
    const findings: Finding[] = [];
    let lines = 0;
    let bytes = 0;
    for (const file of logs) {
      const text = readFileSync(join(dir, file), 'utf8');
      bytes += text.length;
      for (const [i, line] of text.split('\n').entries()) {
        if (line === '') continue;
        lines++;
        const leaks = patterns.find(line);
        if (leaks.length === 0) continue;
        let msg = '';
        try {
          msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
        } catch {
          msg = '(not JSON)';
        }
        for (const leak of leaks) findings.push({ ...leak, file, line: i + 1, msg });
      }
    }
    console.log(
      `[log-scan] read ${lines} lines (${(bytes / 1e6).toFixed(1)} MB) in ${logs.length} files from ${dir}; ${findings.length} findings`,
    );
    // Run on its own (vitest run test/log-scan) there is nothing to read: say so rather than pass.
    expect(lines, `no log lines under ${dir}: the scan reads what the suite wrote, run \`npm test\``).toBeGreaterThan(
      0,
    );
    const shown = findings
      .slice(0, 30)
      .map((f) => `${f.kind} ${maskLeak(f.match)} in ${f.file}:${f.line} (msg "${f.msg}")`);
    expect(shown, `${findings.length} leaks`).toEqual([]);
  }, 120_000);
});
