import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHECK = join(REPO, 'scripts/check-layers.mjs');

async function checkLayers(cwd: string, roots: string[] = []): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CHECK, ...roots], { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/**
 * The layer check `npm run lint` runs (scripts/check-layers.mjs with .dependency-cruiser.cjs),
 * on the real tree and on a small tree with a planted wrong-way import and a planted cycle.
 */
describe('the layer rules', () => {
  const planted = mkdtempSync(join(tmpdir(), 'hibiki-layers-'));
  afterAll(() => rmSync(planted, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(planted, path)), { recursive: true });
    writeFileSync(join(planted, path), text);
  };

  it('hold on the source as it is', async () => {
    const { code, out } = await checkLayers(REPO);
    expect(out).toMatch(/layers: \d{3,} modules, \d+ imports, 0 wrong-way imports or cycles/);
    expect(code).toBe(0);
  }, 60_000);

  it('fail on a wrong-way import and on a cycle, saying which layer may use which', async () => {
    write('tsconfig.json', JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true, noEmit: true } }));
    write('src/store/notices.ts', 'export const table = "notices";\n');
    // The vocabulary reaching up into the store.
    write('src/domain/notice.ts', "import { table } from '../store/notices.ts';\nexport const word = table;\n");
    // A channel knowing the store.
    write('channels/mail/mail.ts', "import { table } from '../../src/store/notices.ts';\nexport const m = table;\n");
    // Two channel modules needing each other.
    write('channels/x/a.ts', "import { b } from './b.ts';\nexport const a = () => b();\n");
    write('channels/x/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
    const { code, out } = await checkLayers(planted, ['src', 'channels']);
    expect(code).toBe(1);
    expect(out).toContain('layers: domain-is-the-bottom: src/domain/notice.ts → src/store/notices.ts');
    expect(out).toContain('src/domain imports nothing else of ours');
    expect(out).toContain(
      'layers: channels-know-no-store-queue-or-environment: channels/mail/mail.ts → src/store/notices.ts',
    );
    expect(out).toMatch(
      /layers: no-circular: channels\/x\/(a|b)\.ts → channels\/x\/(a|b)\.ts → channels\/x\/(a|b)\.ts/,
    );
    expect(out).toContain('3 wrong-way imports or cycles');
  }, 60_000);

  it('fail when nothing was read, rather than report a clean tree', async () => {
    write('empty/README', 'no modules here\n');
    const { code, out } = await checkLayers(planted, ['empty']);
    expect(code).toBe(2);
    expect(out).toContain('read 0 modules');
  }, 60_000);
});
