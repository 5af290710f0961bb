import type { ServerContext } from '../core/context.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import type { MucService } from '../muc/service.ts';
import { destroyRoom } from '../muc/owner.ts';
import type { Room } from '../muc/room.ts';
import type { SessionLifecycle } from '../stream/lifecycle.ts';
import type { Session } from '../stream/session.ts';
import { accountOf, addAccount, changeAccountPassword, listAccounts, removeAccount } from './accounts.ts';
import { AdminError } from './errors.ts';
import type { ReloadResult } from './reload.ts';

export interface SessionInfo {
  jid: string;
  /** tcp, websocket, or null while hibernated (no connection). */
  transport: string | null;
  address: string | null;
  /** ISO time the resource was bound. */
  since: string;
  /** XEP-0198: off, on (not resumable), resumable, or hibernated. */
  sm: 'off' | 'on' | 'resumable' | 'hibernated';
}

export interface RoomInfo {
  jid: string;
  name: string;
  persistent: boolean;
  locked: boolean;
  occupants: { nick: string; role: string; affiliation: string; jids: string[] }[];
}

/**
 * What a service admin can do on the running server: the one implementation behind the admin
 * socket (`mucpush users`, `kick`, ...) and the XEP-0133 ad-hoc commands.
 */
export class AdminService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly lifecycle: SessionLifecycle,
    readonly muc: MucService | null,
    private readonly reloadConfig: () => Promise<ReloadResult>,
  ) {}

  account(input: string): { username: string; jid: string } {
    return accountOf(this.ctx.config.domain, input);
  }

  async addUser(input: string, password: string): Promise<string> {
    const { username, jid } = this.account(input);
    await addAccount(this.ctx.accounts, username, jid, password);
    this.ctx.log.info({ username }, 'account added by an admin');
    return jid;
  }

  async changePassword(input: string, password: string): Promise<string> {
    const { username, jid } = this.account(input);
    await changeAccountPassword(this.ctx.accounts, username, jid, password);
    return jid;
  }

  async deleteUser(input: string): Promise<string> {
    const { username, jid } = this.account(input);
    await removeAccount(this.ctx.store, this.ctx.accounts, username, jid, (user) => {
      this.ctx.hooks.emit('account:deleted', { user });
      this.end(this.ctx.sessions.of(user.bare), 'not-authorized', 'account removed');
    });
    this.ctx.log.info({ username }, 'account deleted by an admin');
    return jid;
  }

  users(): Promise<string[]> {
    return listAccounts(this.ctx.accounts, this.ctx.config.domain);
  }

  sessions(): SessionInfo[] {
    return [...this.ctx.sessions.all()].map((s) => ({
      jid: s.jid.full,
      transport: s.connection?.kind ?? null,
      address: s.connection?.remoteAddress ?? null,
      since: new Date(s.created).toISOString(),
      sm: !s.sm ? 'off' : s.state === 'hibernated' ? 'hibernated' : s.sm.id ? 'resumable' : 'on',
    }));
  }

  /** Ends the sessions of a bare JID (all of them) or of a full JID (that one), XEP-0133 4.6. */
  endSessions(input: string): number {
    const jid = parseJid(input);
    if (!jid || !jid.local || jid.domain !== this.ctx.config.domain) throw new AdminError('bad-request', `"${input}" is not a JID of this server's domain ${this.ctx.config.domain}`);
    const sessions = jid.resource ? [this.ctx.sessions.get(jid.full)].filter((s): s is Session => s !== undefined) : this.ctx.sessions.of(jid.bare);
    this.end(sessions, 'policy-violation', 'session ended by an administrator');
    return sessions.length;
  }

  /** The live rooms with their occupants, and the stored ones not in memory (persistent, empty). */
  async rooms(): Promise<RoomInfo[]> {
    const muc = this.requireMuc();
    return (await muc.listedRooms()).map((listed) => {
      const room = muc.rooms.get(listed.jid);
      if (!room) return { jid: listed.jid, name: listed.name, persistent: true, locked: listed.locked, occupants: [] };
      return {
        jid: room.jid.bare,
        name: room.config.name,
        persistent: room.config.persistent,
        locked: room.locked,
        occupants: [...room.occupants.values()].map((o) => ({ nick: o.nick, role: o.role, affiliation: room.affiliation(o.bare), jids: [...o.sessions.keys()] })),
      };
    });
  }

  /** Destroys a room as its owner would (XEP-0045 10.9): occupants get <destroy/> with the reason. */
  destroyRoom(input: string, reason?: string): Promise<string> {
    return this.inRoom(input, async (muc, room) => {
      await destroyRoom(muc, room, reason);
      this.ctx.log.info({ room: room.jid.bare }, 'room destroyed by an admin');
      return room.jid.bare;
    });
  }

  /**
   * Kicks an occupant (XEP-0045 8.2: role none, status 307, the reason) with a service admin's
   * rights: an owner of every room, who may kick anyone but another owner.
   */
  kick(input: string, nick: string, reason?: string): Promise<string> {
    return this.inRoom(input, (_muc, room) => {
      const occupant = room.occupants.get(nick);
      if (!occupant) throw new AdminError('item-not-found', `there is no occupant "${nick}" in ${room.jid.bare}`);
      if (room.affiliation(occupant.bare) === 'owner') throw new AdminError('not-allowed', `${nick} is an owner of ${room.jid.bare} and cannot be kicked`);
      room.setRole(occupant, 'none', undefined, reason);
      return room.occupantJid(nick);
    });
  }

  reload(): Promise<ReloadResult> {
    return this.reloadConfig();
  }

  private end(sessions: Session[], condition: 'not-authorized' | 'policy-violation', text: string): void {
    for (const s of sessions) this.lifecycle.end(s, condition, text);
  }

  private requireMuc(): MucService {
    if (!this.muc) throw new AdminError('service-unavailable', 'the MUC service is disabled (muc.domain is false)');
    return this.muc;
  }

  /** Runs `fn` on the room `input` in its queue (loaded from storage if need be), as its stanzas run. */
  private inRoom<T>(input: string, fn: (muc: MucService, room: Room) => T | Promise<T>): Promise<T> {
    const muc = this.requireMuc();
    const jid: Jid | undefined = parseJid(input);
    if (!jid || !jid.local || jid.resource) throw new AdminError('bad-request', `invalid room JID "${input}": expected room@${muc.domain}`);
    if (jid.domain !== muc.domain) throw new AdminError('bad-request', `${jid.bare} is not on the MUC service ${muc.domain}`);
    return muc.withRoom(jid.bare, (room) => {
      if (!room) throw new AdminError('item-not-found', `there is no room ${jid.bare}`);
      return fn(muc, room);
    });
  }
}
