// The package entry (`import { startServer } from 'mucpush'`). The sources are TypeScript run
// through tsx with no build step: they are loaded here through a tsx loader of their own
// (namespaced, so it leaves the importer's module loading alone), and a consumer needs no
// loader or TypeScript setup. The types come from src/index.ts (package.json `types`).
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const api = await tsImport('./src/index.ts', { parentURL: import.meta.url, tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) });
export const { startServer } = api;
