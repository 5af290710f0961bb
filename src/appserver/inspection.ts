import type { AppServer, PushNotificationRecord } from './app-server.ts';

/** Which kept notifications a reader wants; every given field must match. */
export interface NotificationFilter {
  node?: string;
  /** The account's bare JID (see `PushNotificationRecord.account`). */
  account?: string;
  /** The room's bare JID. */
  room?: string;
  /** Only notifications with a greater id. */
  since?: number;
}

export function matches(r: PushNotificationRecord, f: NotificationFilter): boolean {
  return (
    (f.node === undefined || r.node === f.node) &&
    (f.account === undefined || r.account === f.account) &&
    (f.room === undefined || r.room === f.room) &&
    (f.since === undefined || r.id > f.since)
  );
}

/** The kept notifications that match, oldest first. */
export function listNotifications(app: AppServer, f: NotificationFilter): PushNotificationRecord[] {
  return app.notifications(f.node).filter((r) => matches(r, f));
}

/**
 * The first notification accepted from now on that matches (and that `accept` takes, when
 * given), or null after `timeoutMs` or once `signal` aborts. With `since`, the kept ones after
 * it come first: a caller that listed up to an id and then waits misses none.
 */
export function nextNotification(
  app: AppServer,
  f: NotificationFilter,
  timeoutMs: number,
  signal?: AbortSignal,
  accept: (r: PushNotificationRecord) => boolean = () => true,
): Promise<PushNotificationRecord | null> {
  if (f.since !== undefined) {
    const kept = listNotifications(app, f).find(accept);
    if (kept) return Promise.resolve(kept);
  }
  if (signal?.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (r: PushNotificationRecord | null) => {
      off();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = () => done(null);
    const off = app.onNotification((r) => {
      if (matches(r, f) && accept(r)) done(r);
    });
    const timer = setTimeout(() => done(null), timeoutMs);
    // A wait never holds the process open by itself.
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
