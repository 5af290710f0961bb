import { createHash } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
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
 * photo sends a fresh presence from each available resource to everyone who has its presence.
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
    if (stanza.attrs.type !== undefined) return;
    stanza.children = stanza.children.filter((c) => typeof c === 'string' || c.name !== 'x' || c.attrs.xmlns !== VCARD_UPDATE);
    stanza.cnode(xml('x', { xmlns: VCARD_UPDATE }, xml('photo', {}, this.get(session.jid.bare))));
  }

  /**
   * Each available resource sends its presence again with the new hash: as a broadcast, and to
   * the JIDs it sent directed presence to (the rooms it is in).
   */
  private rebroadcast(bare: string): void {
    for (const s of this.ctx.sessions.of(bare)) {
      if (!s.available) continue;
      const fresh = new Element('presence', {});
      // The stored presence carries the server's delay stamp (and the old hash): both are the server's to add.
      fresh.children = s.presence!.children.filter((c) => typeof c === 'string' || c.attrs.xmlns !== NS.DELAY);
      this.stamp(s, fresh);
      const targets = [...s.directedPresence];
      this.presence.outbound(s, withChildren({ from: s.jid.full }, fresh.children));
      for (const to of targets) this.presence.outbound(s, withChildren({ from: s.jid.full, to }, fresh.children));
    }
  }
}

/** A presence with these attributes sharing `children` (never mutated once sent). */
function withChildren(attrs: Record<string, string>, children: Element['children']): Element {
  const el = new Element('presence', attrs);
  el.children = children;
  return el;
}

/** Stamps the avatar hash on presence from local clients; returns the hashes for the vCard feature. */
export async function installAvatarHash(ctx: ServerContext, host: Host, presence: Presence, vcards: KV<string>): Promise<AvatarHashes> {
  const avatars = new AvatarHashes(ctx, presence);
  await avatars.load(vcards);
  host.presenceStamps.push((session, stanza) => avatars.stamp(session, stanza));
  ctx.hooks.on('account:deleted', ({ user }) => avatars.forget(user.bare));
  return avatars;
}
