import type { Config } from '../config/types.ts';
import type { Logger } from './logger.ts';
import type { Hooks } from './hooks.ts';
import type { SessionEvents } from './events.ts';
import type { Router } from '../router/router.ts';
import type { SessionRegistry } from '../router/sessions.ts';
import type { Store } from '../store/db.ts';
import type { AccountStore } from '../store/accounts.ts';

/** What every part of the server shares: built once in src/server.ts. */
export interface ServerContext<Events extends SessionEvents = SessionEvents> {
  config: Config;
  log: Logger;
  hooks: Hooks<Events>;
  router: Router;
  sessions: SessionRegistry;
  store: Store;
  accounts: AccountStore;
}
