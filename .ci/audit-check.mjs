// Reads `npm audit --omit=dev --json` on stdin and decides what CI does with it:
//   exit 0: no high or critical advisory, or only those in .ci/audit-allowlist.txt;
//   exit 1: a high or critical advisory the allowlist does not name (printed);
//   exit 3: the registry's audit endpoint gave no report (CI says so and goes on).
// The allowlist names advisories by GHSA id, one a line, each explained in the README
// ("Dependencies"); '#' starts a comment.
import { readFileSync } from 'node:fs';

const allowlistFile = new URL('audit-allowlist.txt', import.meta.url);
const allowed = new Set(
  readFileSync(allowlistFile, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/)[0])
    .filter(Boolean),
);

let report;
try {
  report = JSON.parse(readFileSync(0, 'utf8'));
} catch {
  report = undefined;
}
if (!report || typeof report.metadata?.vulnerabilities !== 'object') {
  const why = report?.message ?? report?.error?.summary ?? 'no JSON report';
  console.log(`npm audit: the registry's audit endpoint gave no report (${why}); not checked this run`);
  process.exit(3);
}

// Each advisory once, with every package it reaches through.
const advisories = new Map();
for (const [name, vulnerability] of Object.entries(report.vulnerabilities ?? {})) {
  for (const via of vulnerability.via ?? []) {
    if (typeof via !== 'object' || !['high', 'critical'].includes(via.severity)) continue;
    const id = /GHSA-[\w-]+/.exec(via.url ?? '')?.[0] ?? `npm-${via.source}`;
    const seen = advisories.get(id) ?? { severity: via.severity, title: via.title, url: via.url, packages: new Set() };
    seen.packages.add(via.name ?? name);
    advisories.set(id, seen);
  }
}

const counts = report.metadata.vulnerabilities;
console.log(
  `npm audit: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high, ${counts.moderate ?? 0} moderate, ${counts.low ?? 0} low (production dependencies)`,
);
let unexplained = 0;
for (const [id, a] of advisories) {
  const listed = allowed.has(id);
  if (!listed) unexplained++;
  console.log(
    `  ${listed ? 'accepted' : 'NOT ACCEPTED'} ${a.severity} ${id} in ${[...a.packages].join(', ')}: ${a.title} ${a.url ?? ''}`,
  );
}
for (const id of allowed) {
  if (!advisories.has(id)) console.log(`  ${id} is in .ci/audit-allowlist.txt but no longer reported: remove it`);
}
if (unexplained > 0) {
  console.log(
    `npm audit: ${unexplained} high/critical advisory(ies) neither fixed nor explained: upgrade, or explain in README "Dependencies" and add to .ci/audit-allowlist.txt`,
  );
  process.exit(1);
}
