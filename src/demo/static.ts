import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import type { RouteHandler } from '../transport/http.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.map': 'application/json',
};

/** The folder of Converse's browser build, when the converse.js package is installed. */
export function converseDist(): string | null {
  try {
    const require = createRequire(import.meta.url);
    // The package's exports hide package.json; its main file lives in dist/.
    return dirname(require.resolve('converse.js/dist/converse.min.js'));
  } catch {
    return null;
  }
}

/** Serves files below `root` under the URL `prefix`, refusing paths that climb out of it. */
export function staticFiles(prefix: string, root: string): RouteHandler {
  return async (_req, res, url) => {
    const rel = normalize(decodeURIComponent(url.pathname.slice(prefix.length))).replace(/^([/\\])+/, '');
    const file = join(root, rel);
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    const info = await stat(file).catch(() => null);
    if (!info || !info.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size, 'cache-control': 'max-age=3600' });
    createReadStream(file).pipe(res);
  };
}
