import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** Where browser tests put what they saw (screenshots): gitignored, kept after the run for a person to look at. */
export function artifactsDir(...parts: string[]): string {
  const root = process.env.HIBIKI_ARTIFACTS_DIR ?? fileURLToPath(new URL('../../test-artifacts', import.meta.url));
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/**
 * Opens a console page signed out, which leads to the sign-in form with ?next=; signs in
 * with the token there and waits to be back on the page asked for.
 */
export async function signInThroughForm(page: Page, base: string, token: string, path: string): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.waitForURL((url) => url.pathname === '/console/login');
  await page.getByLabel('トークン').fill(token);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.waitForURL((url) => url.pathname === path);
}

/**
 * Collects what should never happen on a page: script errors, console errors, and answers
 * of 400 or more (but the browser's own /favicon.ico, which the console does not have).
 * Read `problems` at the end of a step that expects none.
 */
export function watchProblems(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  page.on('console', (msg) => {
    // A failed load is reported with its address by the response handler.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
  });
  page.on('response', (res) => {
    const path = new URL(res.url()).pathname;
    if (res.status() >= 400 && path !== '/favicon.ico') problems.push(`${res.status()} ${path}`);
  });
  return { problems };
}

/** How far the page scrolls sideways at this size (0: it fits); leaves the page at its size before. */
export async function sideScrollAt(page: Page, size: { width: number; height: number }): Promise<number> {
  const before = page.viewportSize();
  await page.setViewportSize(size);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  if (before) await page.setViewportSize(before);
  return overflow;
}

/** Takes a full-page screenshot at each size in turn, named `<name>-<width>.png`; leaves the page at the first size. */
export async function screenshotAt(
  page: Page,
  dir: string,
  name: string,
  sizes: ReadonlyArray<{ width: number; height: number }> = [DESKTOP, PHONE],
): Promise<string[]> {
  const before = page.viewportSize();
  const paths: string[] = [];
  for (const size of sizes) {
    await page.setViewportSize(size);
    const path = join(dir, `${name}-${size.width}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
  }
  if (before) await page.setViewportSize(before);
  return paths;
}
