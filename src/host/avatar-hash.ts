import { createHash } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import type { BatchOp, KV } from '../store/db.ts';
import type { Session } from '../stream/session.ts';
import { Element, xml } from '../xml/element.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';
import type { Presence } from './presence.ts';

const VCARD_UPDATE = 'vcard-temp:x:update';
/** Set once the hashes of the vCards stored before this feature existed were computed. */
const COMPUTED_MARKER = '!computed';

/** XEP-0153 3.1: the SHA-1 (hex) of the image data in the vCard's PHOTO/BINVAL; '' without a photo. */
export function photoHash(vcard: Element): string {
  const binval = vcard.getChild('PHOTO')?.getChildText('BINVAL')?.replace(/\s+/g, '');
  if (!binval) return '';
  return createHash('sha1').update(Buffer.from(binval, 'base64')).digest('hex');
}

/**
 * XEP-0153 at the server, as Prosody's mod_vcard_legacy does: every available presence a user
 * sends (broadcast or directed, so rooms get it too) carries <x xmlns='vcard-temp:x:update'>
 * with the hash of the avatar in the user's vCard, or an empty <photo/> when there is none; a
 * client's own <x/> is replaced, since the server knows the hash. A new vCard with another
 * photo sends a fresh presence from each available resource to everyone who has its presence,
 * and the rooms it is in (src/muc/avatar-update.ts).
 *
 * Presence goes out synchronously (a room join must not be overtaken by the message after it),
 * so the hashes of accounts with a photo are kept in memory (40 characters each), loaded at
 * start from their own small sublevel, written in the same batch as the vCard.
 */
export class AvatarHashes {
  private readonly hashes = new Map<string, string>();
  private readonly kv: KV<string>;

  constructor(
    private readonly ctx: ServerContext,
    private readonly presence: Presence,
  ) {
    this.kv = ctx.store.sub<string>('avatar-hashes');
  }

  async load(vcards: KV<string>): Promise<void> {
    if ((await this.kv.get(COMPUTED_MARKER)) === undefined) {
      // vCards stored before avatar hashes were kept: hash them once.
      const limits = { maxStanzaBytes: Number.MAX_SAFE_INTEGER, maxDepth: this.ctx.config.limits.maxDepth };
      const ops: BatchOp[] = [];
      for await (const [bare, text] of vcards.range({})) {
        let hash = '';
        try {
          hash = photoHash(parseFrame(text, limits));
        } catch (err) {
          // An unreadable stored vCard must not stop the server: that account shows no avatar.
          this.ctx.log.warn({ err, bare }, 'stored vCard unreadable');
        }
        if (hash) ops.push(this.kv.batchPut(bare, hash));
      }
      await this.ctx.store.batch([...ops, this.kv.batchPut(COMPUTED_MARKER, '1')]);
    }
    for await (const [bare, hash] of this.kv.range({})) if (bare !== COMPUTED_MARKER) this.hashes.set(bare, hash);
  }

  get(bare: string): string {
    return this.hashes.get(bare) ?? '';
  }

  /** The writes that record `vcard`'s photo hash with it, and what to do once they are durable. */
  record(bare: string, vcard: Element): { ops: BatchOp[]; written: () => void } {
    const hash = photoHash(vcard);
    return {
      ops: [hash ? this.kv.batchPut(bare, hash) : this.kv.batchDel(bare)],
      written: () => {
        if (hash === this.get(bare)) return;
        if (hash) this.hashes.set(bare, hash);
        else this.hashes.delete(bare);
        this.rebroadcast(bare);
      },
    };
  }

  /** The deletion of an account's hash (with the rest of its data). */
  forget(bare: string): void {
    this.hashes.delete(bare);
  }

  /** Replaces any client-provided update element of an available presence with the server's. */
  stamp(session: Session, stanza: Element): void {
    if (stanza.attrs.type === undefined) setPhotoHash(stanza, this.get(session.jid.bare));
  }

  /**
   * Each available resource broadcasts its presence again with the new hash. Rooms are told by
   * the MUC service (`account:avatar-changed`), which knows which rooms each session is still in
   * and under which nick: the directed-presence list also holds rooms left by a kick or an old
   * nick, where a presence would join or rename.
   */
  private rebroadcast(bare: string): void {
    const hash = this.get(bare);
    for (const s of this.ctx.sessions.of(bare)) {
      if (!s.available) continue;
      const fresh = new Element('presence', { from: s.jid.full });
      // The stored presence carries the server's delay stamp (and the old hash): both are the server's to add.
      fresh.children = s.presence!.children.filter((c) => typeof c === 'string' || c.attrs.xmlns !== NS.DELAY);
      setPhotoHash(fresh, hash);
      this.presence.outbound(s, fresh);
    }
    this.ctx.hooks.emit('account:avatar-changed', { user: parseJid(bare)!, hash });
  }
}

/** Replaces the vcard-temp:x:update children of a presence with one carrying `hash` ('' for an empty photo). */
export function setPhotoHash(presence: Element, hash: string): void {
  presence.children = presence.children.filter((c) => typeof c === 'string' || c.name !== 'x' || c.attrs.xmlns !== VCARD_UPDATE);
  presence.cnode(xml('x', { xmlns: VCARD_UPDATE }, xml('photo', {}, hash)));
}

/** Stamps the avatar hash on presence from local clients; returns the hashes for the vCard feature. */
export async function installAvatarHash(ctx: ServerContext, host: Host, presence: Presence, vcards: KV<string>): Promise<AvatarHashes> {
  const avatars = new AvatarHashes(ctx, presence);
  await avatars.load(vcards);
  host.presenceStamps.push((session, stanza) => avatars.stamp(session, stanza));
  ctx.hooks.on('account:deleted', ({ user }) => avatars.forget(user.bare));
  return avatars;
}
