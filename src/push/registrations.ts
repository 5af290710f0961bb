import type { Logger } from '../core/logger.ts';
import type { Jid } from '../core/jid.ts';
import { PushStore, pushKey, type PushRegistrationRecord, type PushScope } from '../store/push.ts';
import type { Store } from '../store/db.ts';
import type { Element } from '../xml/element.ts';
import { seenRecently } from './recent.ts';

/** A registration as kept in memory: the stored record plus what the hot path needs. */
export interface PushRegistration extends PushRegistrationRecord {
  readonly key: string;
  /** The publish-options form, parsed once (null when none was given). */
  formEl: Element | null;
  /** Stanza ids pushed lately through this registration: one message never pushes twice. */
  recent: string[];
  removed: boolean;
  /** What the dispatcher works out once for all of this registration's notifications. */
  prepared?: { options: Element | null };
}

export interface EnableRequest {
  user: string;
  scope: PushScope;
  jid: string;
  node: string;
  form: Element | null;
}

const RECENT = 16;
const NONE: readonly PushRegistration[] = Object.freeze([]);

/** What is stored: the record without the in-memory extras. */
function recordOf(r: PushRegistration): PushRegistrationRecord {
  return { user: r.user, scope: r.scope, jid: r.jid, node: r.node, form: r.form, created: r.created, errors: r.errors };
}

/**
 * XEP-0357 registrations by user bare JID, all in memory (they are small) and written through
 * to LevelDB. At most `maxDevices` per user and scope: enabling one more drops the oldest.
 */
export class Registrations {
  private readonly byUser = new Map<string, PushRegistration[]>();
  /**
   * What `forRoom` and `forAccount` answered, by user, then by room bare JID (`''` for the
   * account scope): a room message asks for every registered member, so the lists are worked
   * out once and kept until that user's registrations change.
   */
  private readonly views = new Map<string, Map<string, readonly PushRegistration[]>>();
  private readonly store: PushStore;
  /** Users with at least one MUC-scope registration: lets a room message skip all work. */
  private mucUsers = 0;

  constructor(
    store: Store,
    /** Read at each registration: a config reload may change it. */
    private readonly maxDevices: () => number,
    private readonly parseForm: (text: string) => Element | null,
    private readonly log: Logger,
  ) {
    this.store = new PushStore(store);
  }

  async load(): Promise<void> {
    for (const r of await this.store.all()) this.insert(this.make(r, r.form ? this.parseForm(r.form) : null));
  }

  get size(): number {
    let n = 0;
    for (const list of this.byUser.values()) n += list.length;
    return n;
  }

  /** True when some user registered for room pushes at all. */
  get anyMuc(): boolean {
    return this.mucUsers > 0;
  }

  /** Every registration of a user (all scopes), oldest first. */
  of(user: string): readonly PushRegistration[] {
    return this.byUser.get(user) ?? [];
  }

  /** Registrations that apply to a room: the MUC service scope or that room's own. */
  forRoom(user: string, room: Jid): readonly PushRegistration[] {
    const list = this.byUser.get(user);
    if (!list) return NONE;
    let views = this.views.get(user);
    const cached = views?.get(room.bare);
    if (cached) return cached;
    const service = `muc:${room.domain}`;
    const own = `room:${room.bare}`;
    const found = list.filter((r) => r.scope === service || r.scope === own);
    const view = found.length ? found : NONE;
    if (!views) this.views.set(user, (views = new Map()));
    views.set(room.bare, view);
    return view;
  }

  /** Registrations for the user's own 1:1 messages (scope `account`). */
  forAccount(user: string): readonly PushRegistration[] {
    const list = this.byUser.get(user);
    if (!list) return NONE;
    let views = this.views.get(user);
    const cached = views?.get('');
    if (cached) return cached;
    const found = list.filter((r) => r.scope === 'account');
    const view = found.length ? found : NONE;
    if (!views) this.views.set(user, (views = new Map()));
    views.set('', view);
    return view;
  }

  /** Adds or refreshes a registration; resolves once it is on disk, with what was dropped. */
  async enable(req: EnableRequest): Promise<{ registration: PushRegistration; dropped: PushRegistration[] }> {
    const key = pushKey(req);
    const existing = this.byUser.get(req.user)?.find((r) => r.key === key);
    if (existing) this.detach(existing);
    const registration = this.make(
      { user: req.user, scope: req.scope, jid: req.jid, node: req.node, form: req.form ? req.form.toString() : null, created: Date.now(), errors: 0 },
      req.form,
    );
    this.insert(registration);
    const sameScope = this.of(req.user).filter((r) => r.scope === req.scope);
    const dropped = sameScope.slice(0, Math.max(0, sameScope.length - this.maxDevices()));
    for (const r of dropped) this.detach(r);
    await this.store.save(recordOf(registration));
    for (const r of dropped) await this.store.delete(recordOf(r));
    if (dropped.length) this.log.info({ user: req.user, scope: req.scope, dropped: dropped.map((r) => `${r.jid} ${r.node}`) }, 'push device limit reached: oldest registrations dropped');
    return { registration, dropped };
  }

  /** Removes one registration (jid and node) or every one for that app server; resolves to the count. */
  async disable(user: string, scope: PushScope, jid: string, node?: string): Promise<number> {
    const gone = this.of(user).filter((r) => r.scope === scope && r.jid === jid && (node === undefined || r.node === node));
    for (const r of gone) await this.remove(r);
    return gone.length;
  }

  async remove(r: PushRegistration): Promise<void> {
    if (r.removed) return;
    this.detach(r);
    await this.store.delete(recordOf(r));
  }

  /** Drops a user's live registrations whose records are already gone from the store. */
  forget(user: string): void {
    for (const r of [...this.of(user)]) this.detach(r);
  }

  /** A result from the app server: the error count starts over. */
  noteResult(r: PushRegistration): void {
    if (r.errors === 0 || r.removed) return;
    r.errors = 0;
    this.persist(r);
  }

  /** A counted error; resolves to the new count. */
  noteError(r: PushRegistration): number {
    r.errors++;
    if (!r.removed) this.persist(r);
    return r.errors;
  }

  /** Remembers that this message was pushed here; false when it already was. */
  markPushed(r: PushRegistration, stanzaId: string): boolean {
    if (!stanzaId) return true;
    if (seenRecently(r.recent, stanzaId)) return false;
    r.recent.push(stanzaId);
    if (r.recent.length > RECENT) r.recent.shift();
    return true;
  }

  private persist(r: PushRegistration): void {
    this.store.save(recordOf(r)).catch((err) => this.log.warn({ err }, 'could not store a push registration'));
  }

  private make(r: PushRegistrationRecord, formEl: Element | null): PushRegistration {
    return { ...r, key: pushKey(r), formEl, recent: [], removed: false, prepared: undefined };
  }

  private insert(r: PushRegistration): void {
    this.views.delete(r.user);
    let list = this.byUser.get(r.user);
    if (!list) this.byUser.set(r.user, (list = []));
    if (r.scope !== 'account' && !list.some((x) => x.scope !== 'account')) this.mucUsers++;
    list.push(r);
    list.sort((a, b) => a.created - b.created);
  }

  private detach(r: PushRegistration): void {
    r.removed = true;
    this.views.delete(r.user);
    const list = this.byUser.get(r.user);
    if (!list) return;
    const rest = list.filter((x) => x !== r);
    if (r.scope !== 'account' && !rest.some((x) => x.scope !== 'account') && list.some((x) => x.scope !== 'account')) this.mucUsers--;
    if (rest.length) this.byUser.set(r.user, rest);
    else this.byUser.delete(r.user);
  }
}
