import type { ServerContext } from '../core/context.ts';
import type { Host } from '../host/host.ts';
import type { MucService } from '../muc/service.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import type { Element } from '../xml/element.ts';
import { installAccountListener } from './account-listener.ts';
import { PushDispatcher, type LocalAppServer, type PushOutcome, type PushStats } from './dispatcher.ts';
import { installEnable } from './enable.ts';
import { installMucListener } from './muc-listener.ts';
import { Registrations } from './registrations.ts';
import { UnreadCounter } from './unread.ts';

export type { LocalAppServer, PushOutcome, PushStats } from './dispatcher.ts';
export type { PushRegistration } from './registrations.ts';

/** XEP-0357 on this server: registrations, the room and account listeners, the dispatcher. */
export interface PushService {
  readonly registrations: Registrations;
  readonly dispatcher: PushDispatcher;
  readonly unread: UnreadCounter;
  readonly stats: PushStats;
  /** Told of each settled notification (result, error, wait, timeout). */
  onOutcome(listener: (o: PushOutcome) => void): () => void;
  stop(): void;
}

/**
 * Installs push after the MUC service: it only listens to room and session events, and answers
 * <enable/>/<disable/> on the MUC service, on rooms and on accounts. Notifications for the
 * built-in app server (`localAppServer`) are handed to it directly instead of routed.
 */
export async function installPush(ctx: ServerContext, host: Host, muc: MucService | null, localAppServer: LocalAppServer | null = null): Promise<PushService> {
  const parseForm = (text: string): Element | null => {
    try {
      return parseFrame(text, ctx.config.limits);
    } catch (err) {
      ctx.log.warn({ err }, 'a stored push publish-options form does not parse: ignored');
      return null;
    }
  };
  const registrations = new Registrations(ctx.store, () => ctx.config.push.maxDevices, parseForm, ctx.log);
  await registrations.load();
  const dispatcher = new PushDispatcher(ctx, registrations);
  dispatcher.attachLocal(localAppServer);
  const unread = new UnreadCounter();
  installEnable(ctx, host, muc, registrations, localAppServer);
  if (muc) installMucListener(ctx, muc, registrations, dispatcher, unread);
  const stopAccount = installAccountListener(ctx, muc, registrations, dispatcher);
  // The stored registrations went with the account, in its one batch (src/store/account-data.ts):
  // only the live ones are left to drop, with no second write that could fail unobserved.
  ctx.hooks.on('account:deleted', ({ user }) => registrations.forget(user.bare));
  return {
    registrations,
    dispatcher,
    unread,
    stats: dispatcher.stats,
    onOutcome(listener) {
      dispatcher.listeners.add(listener);
      return () => dispatcher.listeners.delete(listener);
    },
    stop() {
      dispatcher.stop();
      stopAccount();
    },
  };
}
