import net from 'node:net';
import { adminSocketPath, type AdminRequest, type AdminResponse } from './protocol.ts';

/** Milliseconds to wait for the server's answer (a reload or a password hash is quick). */
const ANSWER_TIMEOUT_MS = 30_000;

/** No server listens on the admin socket of this data folder. */
export class NoServerError extends Error {
  constructor(readonly path: string) {
    super(`no running server for this data folder (nothing listens on ${path}): start it with mucpush start, or check --data-dir/--config`);
    this.name = 'NoServerError';
  }
}

/** The server refused the request; `message` is its reason. */
export class AdminRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminRefused';
  }
}

/**
 * Sends one request to the server running on `dataDir` and resolves to its result. Rejects with
 * NoServerError when nothing listens there (no socket file, or a stale one from a killed server),
 * with AdminRefused when the server answers with an error.
 */
export function adminRequest(dataDir: string, req: AdminRequest): Promise<unknown> {
  const path = adminSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffered = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server on ${path} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`));
    }, ANSWER_TIMEOUT_MS);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) done(() => reject(new NoServerError(path)));
      else done(() => reject(new Error(`admin socket ${path}: ${err.message}`)));
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let res: AdminResponse;
      try {
        res = JSON.parse(buffered.slice(0, nl)) as AdminResponse;
      } catch {
        return done(() => reject(new Error(`admin socket ${path}: the server's answer is not JSON`)));
      }
      done(() => (res.ok ? resolve(res.result) : reject(new AdminRefused(res.error))));
    });
    socket.on('end', () => done(() => reject(new Error(`admin socket ${path}: the server closed the connection without answering`))));
  });
}
