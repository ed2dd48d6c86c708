import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * Issue 13: `redocly lint` on the served /openapi.json, with the repo's redocly.yaml
 * (recommended, plus what it adds), as a city's engineers run it. Clean: no error, no warning.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer?: string }[];
}

/** Runs the real CLI (no telemetry, no update check) and returns one line per problem. */
async function redoclyLint(file: string): Promise<string[]> {
  const run = await promisify(execFile)(
    process.execPath,
    [REDOCLY, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'],
    {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    },
  ).catch((err: { stdout?: string; stderr?: string; code?: number }) => {
    // Exit 1 means problems found: its JSON is on stdout all the same.
    if (err.code === 1 && err.stdout) return { stdout: err.stdout, stderr: err.stderr ?? '' };
    throw new Error(`redocly lint could not run (exit ${err.code}): ${err.stderr ?? ''}`);
  });
  const report = JSON.parse(run.stdout) as { problems: LintProblem[] };
  return report.problems.map(
    (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '#'}: ${p.message.replace(/\s+/g, ' ')}`,
  );
}

describe('redocly lint on /openapi.json', () => {
  let deps: TestDeps;
  let dir: string;
  beforeAll(async () => {
    // Every channel whose routes add operations (Web Push adds four), so the whole API is linted.
    deps = await createTestDeps({ env: { CHANNELS: 'mail,cap,webhook,webpush' } });
    dir = mkdtempSync(join(tmpdir(), 'hibiki-openapi-'));
  });
  afterAll(async () => {
    await deps?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds no problem (servers, security on every operation, operationIds, typed schemas)', async () => {
    const res = await createApp(deps).request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toContain('/push/subscriptions');
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const problems = await redoclyLint(file);
    expect(problems, `redocly lint found ${problems.length} problem(s):\n${problems.join('\n')}`).toEqual([]);
  });

  it('still catches a staff operation that forgets its token, and one without a 4xx', async () => {
    const doc = (await (await createApp(deps).request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    const op = doc.paths['/v1/tokens']?.get;
    if (!op) throw new Error('no GET /v1/tokens');
    for (const status of Object.keys(op.responses)) if (status.startsWith('4')) delete op.responses[status];
    delete doc.paths['/v1/webhooks']?.get?.security;
    const file = join(dir, 'planted.json');
    writeFileSync(file, JSON.stringify(doc));
    const problems = await redoclyLint(file);
    expect(problems.join('\n')).toContain('security-defined at #/paths/~1v1~1webhooks/get');
    expect(problems.join('\n')).toContain('rule/secured-operation-4xx-response at #/paths/~1v1~1tokens/get/responses');
  });
});
