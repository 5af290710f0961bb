import type { ServerContext } from '../core/context.ts';
import type { SessionLifecycle } from '../stream/lifecycle.ts';
import type { Host } from './host.ts';
import { installPing } from './ping.ts';
import { installRegistration } from './register.ts';
import { installVcard } from './vcard.ts';

/** Installs the user domain's features; returns what stops their timers. */
export function installHostFeatures(ctx: ServerContext, host: Host, lifecycle: SessionLifecycle): () => void {
  installRegistration(ctx, host, lifecycle);
  installVcard(ctx, host);
  return installPing(ctx, host);
}
