import type { ServerContext } from '../core/context.ts';
import type { SessionLifecycle } from '../stream/lifecycle.ts';
import type { Host } from './host.ts';
import { installOffline } from './offline.ts';
import { installPing } from './ping.ts';
import { installPresence } from './presence.ts';
import { installRegistration } from './register.ts';
import { installRoster } from './roster.ts';
import { installSoftwareVersion } from './software-version.ts';
import { installEntityTime } from './entity-time.ts';
import { installVcard } from './vcard.ts';
import { installAvatarHash } from './avatar-hash.ts';
import { installContactAddresses } from './contact-addresses.ts';
import { installServerUptime } from './uptime.ts';

/** Installs the user domain's features; returns what stops their timers and drains their queues. */
export async function installHostFeatures(ctx: ServerContext, host: Host, lifecycle: SessionLifecycle): Promise<() => Promise<void>> {
  installRegistration(ctx, host, lifecycle);
  const rosters = installRoster(ctx, host);
  const presence = installPresence(ctx, host, rosters);
  const vcards = ctx.store.sub<string>('vcards');
  installVcard(ctx, host, vcards, await installAvatarHash(ctx, host, presence, vcards));
  const drainOffline = installOffline(ctx, host);
  const stopPing = installPing(ctx, host);
  installContactAddresses(ctx, host);
  installServerUptime(host);
  installSoftwareVersion(host);
  installEntityTime(host);
  return async () => {
    stopPing();
    // The session:closed events of a shutdown are queued microtasks: let them run, then let the
    // unavailable broadcasts and offline writes they start finish before storage closes.
    await new Promise((r) => setImmediate(r));
    await rosters.idle();
    await drainOffline();
  };
}
