import net from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import type { Logger } from '../core/logger.ts';
import { ConfigError } from '../config/load.ts';
import { AdminError } from './errors.ts';
import { adminSocketPath, MAX_REQUEST_BYTES, type AdminRequest, type AdminResponse } from './protocol.ts';
import type { AdminService } from './service.ts';

type Args = Record<string, unknown>;

function str(args: Args, name: string, optional: true): string | undefined;
function str(args: Args, name: string): string;
function str(args: Args, name: string, optional = false): string | undefined {
  const v = args[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new AdminError('bad-request', `the request's "${name}" must be a string`);
  return v;
}

/** Each operation of the socket, mapped onto the one AdminService method. */
const OPS: Record<string, (admin: AdminService, args: Args) => unknown> = {
  adduser: (a, args) => a.addUser(str(args, 'jid'), str(args, 'password')),
  passwd: (a, args) => a.changePassword(str(args, 'jid'), str(args, 'password')),
  deluser: (a, args) => a.deleteUser(str(args, 'jid')),
  users: (a) => a.users(),
  sessions: (a) => a.sessions(),
  rooms: (a) => a.rooms(),
  'destroy-room': (a, args) => a.destroyRoom(str(args, 'room'), str(args, 'reason', true)),
  kick: (a, args) => a.kick(str(args, 'room'), str(args, 'nick'), str(args, 'reason', true)),
  reload: (a) => a.reload(),
};

async function answer(admin: AdminService, line: string, log: Logger): Promise<AdminResponse> {
  let req: AdminRequest;
  try {
    req = JSON.parse(line) as AdminRequest;
  } catch {
    return { ok: false, error: 'the request is not valid JSON' };
  }
  const op = typeof req?.op === 'string' && Object.hasOwn(OPS, req.op) ? OPS[req.op]! : null;
  if (!op) return { ok: false, error: `unknown operation ${JSON.stringify(req?.op)}` };
  try {
    return { ok: true, result: (await op(admin, req.args && typeof req.args === 'object' ? req.args : {})) ?? null };
  } catch (err) {
    if (err instanceof AdminError) return { ok: false, error: err.message };
    if (err instanceof ConfigError) return { ok: false, error: err.message };
    log.error({ err, op: req.op }, 'admin operation failed');
    return { ok: false, error: `the server failed: ${(err as Error).message}` };
  }
}

function serve(admin: AdminService, socket: net.Socket, log: Logger): void {
  socket.setEncoding('utf8');
  let buffered = '';
  // Requests on one connection are answered in order.
  let queue = Promise.resolve();
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES && !buffered.includes('\n')) {
      socket.end(`${JSON.stringify({ ok: false, error: 'request too long' })}\n`);
      buffered = '';
      return;
    }
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      queue = queue.then(async () => {
        const res = await answer(admin, line, log);
        if (!socket.destroyed) socket.write(`${JSON.stringify(res)}\n`);
      });
    }
  });
}

/**
 * Listens on `<dataDir>/admin.sock`. Called once the server holds the database's LOCK: no other
 * server can be using this folder, so a socket file left there is stale (a killed server) and
 * is removed first. The file is created 0600 (umask around the synchronous bind) and removed on
 * close. Resolves to the close function, or null when the socket cannot be made (logged: the
 * server runs on, and the CLI then reports the database in use).
 */
export async function listenAdminSocket(admin: AdminService, dataDir: string, log: Logger): Promise<(() => Promise<void>) | null> {
  const path = adminSocketPath(dataDir);
  await unlink(path).catch(() => {});
  const server = net.createServer((socket) => serve(admin, socket, log));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    await chmod(path, 0o600);
  } catch (err) {
    log.warn({ err, path }, 'admin socket unavailable: the CLI cannot reach this server');
    server.close();
    return null;
  }
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    await unlink(path).catch(() => {});
  };
}
