import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvCell, csvCellValue } from '../../src/api/csv-cells.ts';
import { createHarness } from '../api/harness.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { suiteFixture } from './abuse-fixture.ts';

/**
 * CSV injection: addresses that a spreadsheet would take for a formula (+ and - are valid
 * at the start of an address) come in through the real import and must leave the export
 * as text. The export is for admins only, audited, and streamed page by page.
 */

const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r'];

describe('CSV cells', () => {
  it.each(FORMULA_STARTS)('neutralise a cell starting with %j and read it back unchanged', (start) => {
    const value = `${start}SUM(A1:A9)`;
    expect(csvCell(value)).toBe(`"'${value}"`);
    expect(csvCellValue(`'${value}`)).toBe(value);
  });

  it('quote every cell and double its quotes; leave other cells and a resident’s own quote alone', () => {
    expect(csvCell('taro@example.jp')).toBe('"taro@example.jp"');
    expect(csvCell('a"b,c\nd')).toBe('"a""b,c\nd"');
    expect(csvCell('')).toBe('""');
    expect(csvCellValue("'o'brien@example.jp")).toBe("'o'brien@example.jp");
    expect(csvCellValue('plain')).toBe('plain');
  });
});

/** Every line of the file is quoted cells only, so no cell can break out of its column. */
const QUOTED_LINE = /^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$/;

describe.each(STORE_KINDS)('GET /v1/subscribers/export.csv (%s)', (store) => {
  const h = suiteFixture(() => createHarness(store));

  const exportCsv = (as: 'author' | 'approver' | 'admin' | null = 'admin') =>
    h().request('GET', '/v1/subscribers/export.csv', { as });
  const importCsv = (csv: string) =>
    h().request('POST', '/v1/subscribers', {
      body: csv,
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      as: 'admin',
    });
  /** Every imported address confirms, as its resident would by the link in the confirmation mail. */
  const everyoneConfirms = () =>
    h()
      .deps.store.db.kysely.updateTable('contacts')
      .set({ verified: 1, active: 1, deactivated_reason: null })
      .where('channel', '=', 'mail')
      .where('verified', '=', 0)
      .execute();

  it('neutralises formula cells that came in through the import, and imports its own file back unchanged', async () => {
    const imported = await importCsv(
      [
        'email,topics,areas,locale',
        '+81-90-1234@example.jp,disaster;weather,,ja',
        '-2+3@example.jp,shelter,432105,en',
        // Refused by the import (not addresses): listed so the test shows what cannot come in at all.
        '=1+2@example.jp,disaster,,ja',
        '@SUM(1+1)@example.jp,disaster,,ja',
        '"\t=1+1@example.jp",disaster,,ja',
        'plain@example.jp,disaster,,ja',
      ].join('\r\n'),
    );
    expect(imported.status).toBe(200);
    const outcome = (await imported.json()) as { accepted: number; errors: { line: number; field: string }[] };
    expect(outcome.accepted).toBe(3);
    expect(outcome.errors.map((e) => [e.line, e.field])).toEqual([
      [4, 'email'],
      [5, 'email'],
      [6, 'email'],
    ]);

    await everyoneConfirms();
    const res = await exportCsv();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const lines = text.split('\r\n');
    expect(lines.pop()).toBe('');
    for (const line of lines) expect(line).toMatch(QUOTED_LINE);
    // Imported rows are signed up several at a time (mail is the slow part), so their order in
    // the store, and in the export, is not the file's.
    const [header, ...rows] = lines;
    expect([header, ...rows.sort()]).toEqual([
      '"email","topics","areas","locale"',
      `"'+81-90-1234@example.jp","disaster;weather","","ja"`,
      `"'-2+3@example.jp","shelter","432105","en"`,
      '"plain@example.jp","disaster","","ja"',
    ]);
    // What a spreadsheet sees: no cell starts a formula.
    const cells = (parseCsv(text) as string[][]).flat();
    for (const cell of cells) expect(cell).not.toMatch(/^[=+\-@\t\r]/);

    // The file imports as it is: the same three residents, not three new quoted addresses.
    const again = await importCsv(text);
    expect(await again.json()).toMatchObject({ accepted: 3, errors: [] });
    const addresses = await h()
      .deps.store.db.kysely.selectFrom('contacts')
      .select('address')
      .where('channel', '=', 'mail')
      .orderBy('address')
      .execute();
    expect(addresses.map((a) => a.address)).toEqual(['+81-90-1234@example.jp', '-2+3@example.jp', 'plain@example.jp']);
  });

  it('is for admins only, and each export is audited with who took it', async () => {
    expect((await exportCsv(null)).status).toBe(401);
    expect((await exportCsv('author')).status).toBe(403);
    expect((await exportCsv('approver')).status).toBe(403);
    const before = await h().deps.store.audit.list({ limit: 100, action: 'subscribers.export' });
    const res = await exportCsv('admin');
    expect(res.status).toBe(200);
    await res.text();
    const after = await h().deps.store.audit.list({ limit: 100, action: 'subscribers.export' });
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({ actor: 'staff-admin', action: 'subscribers.export', detail: { format: 'csv' } });
    // Counts and format only: the audit log must not become a second copy of the list.
    expect(JSON.stringify(after[0])).not.toContain('@');
  });

  it('streams page after page: every active, confirmed address exactly once, nobody who left', async () => {
    const emails = Array.from({ length: 2_345 }, (_, i) => `page${String(i).padStart(4, '0')}@example.jp`);
    // Seeded as confirmed residents: the import would mail each a confirmation first.
    await h().deps.store.subscribers.importMail(
      emails.map((email) => ({ email, topics: ['disaster'], areas: [], locale: 'ja' as const })),
    );
    // One unsubscribed, and one sign-up never confirmed: neither belongs on the list.
    const k = h().deps.store.db.kysely;
    const left = await k
      .selectFrom('contacts')
      .select('id')
      .where('address', '=', 'page0007@example.jp')
      .executeTakeFirstOrThrow();
    await h().deps.store.subscribers.deactivateContacts([Number(left.id)], 'unsubscribed');
    await k.updateTable('contacts').set({ verified: 0 }).where('address', '=', 'page1500@example.jp').execute();

    const text = await (await exportCsv()).text();
    const rows = (parseCsv(text, { columns: true }) as { email: string }[]).map((r) => r.email);
    const paged = rows.filter((e) => e.startsWith('page'));
    expect(paged).toHaveLength(emails.length - 2);
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).not.toContain('page0007@example.jp');
    expect(paged).not.toContain('page1500@example.jp');
    expect(paged).toContain('page2344@example.jp');
  });
});
