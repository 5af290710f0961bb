import type { ServerContext } from '../core/context.ts';
import { Element, xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';
import { parseFrame } from '../xml/frame-parser.ts';

/** XEP-0054 vcard-temp storage: clients (Converse among them) ask for it at login. */
export function installVcard(ctx: ServerContext, host: Host): void {
  const kv = ctx.store.sub<string>('vcards');
  host.iq.on('account', 'get', 'vCard', NS.VCARD, async ({ to }) => {
    const stored = await kv.get(to.bare);
    return stored ? parseFrame(stored, ctx.config.limits) : xml('vCard', { xmlns: NS.VCARD });
  });
  host.iq.on('account', 'set', 'vCard', NS.VCARD, async ({ payload, from, to }) => {
    if (from.bare !== to.bare) throw new StanzaError('forbidden');
    const copy = new Element('vCard', { xmlns: NS.VCARD });
    copy.children = payload.children;
    await kv.put(to.bare, copy.toString());
    return undefined;
  });
  host.disco.addFeature('server', NS.VCARD);
}
