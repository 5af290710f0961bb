import type { ServerContext } from '../core/context.ts';
import type { SessionLifecycle } from '../stream/lifecycle.ts';
import type { Host } from './host.ts';
import { installOffline } from './offline.ts';
import { installPing } from './ping.ts';
import { installPresence } from './presence.ts';
import { installRegistration } from './register.ts';
import { installRoster } from './roster.ts';
import { installVcard } from './vcard.ts';

/** Installs the user domain's features; returns what stops their timers and drains their queues. */
export function installHostFeatures(ctx: ServerContext, host: Host, lifecycle: SessionLifecycle): () => Promise<void> {
  installRegistration(ctx, host, lifecycle);
  installVcard(ctx, host);
  const rosters = installRoster(ctx, host);
  installPresence(ctx, host, rosters);
  const drainOffline = installOffline(ctx, host);
  const stopPing = installPing(ctx, host);
  return async () => {
    stopPing();
    // The session:closed events of a shutdown are queued microtasks: let them run, then let the
    // unavailable broadcasts and offline writes they start finish before storage closes.
    await new Promise((r) => setImmediate(r));
    await rosters.idle();
    await drainOffline();
  };
}
