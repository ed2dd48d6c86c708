#!/usr/bin/env node
// The `hibiki` command: runs the TypeScript sources directly through tsx, so there is no build step.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The project's own tsconfig (JSX through hono/jsx), whatever directory hibiki is started from.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
