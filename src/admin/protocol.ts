import { join } from 'node:path';

/**
 * The admin socket: `<dataDir>/admin.sock`, a Unix domain socket only its owner may open (0600).
 * One JSON object per line each way: `{"op": "...", "args": {...}}` in, then
 * `{"ok": true, "result": ...}` or `{"ok": false, "error": "message"}` out.
 */
export const ADMIN_SOCKET = 'admin.sock';

export const adminSocketPath = (dataDir: string) => join(dataDir, ADMIN_SOCKET);

/** Longest request line accepted (a password and a reason fit easily). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface AdminRequest {
  op: string;
  args?: Record<string, unknown>;
}

export type AdminResponse = { ok: true; result: unknown } | { ok: false; error: string };
