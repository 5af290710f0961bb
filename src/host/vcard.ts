import type { ServerContext } from '../core/context.ts';
import { Element, xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import type { KV } from '../store/db.ts';
import type { AvatarHashes } from './avatar-hash.ts';

/** XEP-0054 vcard-temp storage: clients (Converse among them) ask for it at login. */
export function installVcard(ctx: ServerContext, host: Host, kv: KV<string>, avatars: AvatarHashes): void {
  host.iq.on('account', 'get', 'vCard', NS.VCARD, async ({ to }) => {
    const stored = await kv.get(to.bare);
    return stored ? parseFrame(stored, ctx.config.limits) : xml('vCard', { xmlns: NS.VCARD });
  });
  host.iq.on('account', 'set', 'vCard', NS.VCARD, async ({ payload, from, to }) => {
    if (from.bare !== to.bare) throw new StanzaError('forbidden');
    const copy = new Element('vCard', { xmlns: NS.VCARD });
    copy.children = payload.children;
    // The avatar hash is written with the vCard, and presence with a new hash goes out once both are.
    const avatar = avatars.record(to.bare, copy);
    await ctx.store.batch([kv.batchPut(to.bare, copy.toString()), ...avatar.ops]);
    avatar.written();
    return undefined;
  });
  host.disco.addFeature('server', NS.VCARD);
}
