#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (no build step), from any working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// A failed command exits at once, even if something it opened still holds the event loop.
if (code !== 0) process.exit(code);
