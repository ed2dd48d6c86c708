import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: playwright-core cannot download a browser here, and CI installs this one. */
export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** A suite name that says why it was skipped, for machines without Chromium. */
export const browserSuite = (name: string): string =>
  HAS_CHROMIUM ? name : `${name} — SKIPPED: ${CHROMIUM} is missing (apt-get install chromium; CI installs it)`;

/** Headless, and without the background connections this closed network refuses. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
