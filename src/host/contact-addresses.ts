import type { ServerContext } from '../core/context.ts';
import { CONTACT_KINDS } from '../config/types.ts';
import { formField, xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

const SERVERINFO = 'http://jabber.org/network/serverinfo';

/**
 * XEP-0157: the server's contact addresses (config `contactAddresses`) as an XEP-0128 form in
 * its disco#info. Built at each query from `ctx.config`, so a reload shows at once; kinds left
 * empty are omitted, and with none set there is no form (an empty form says nothing).
 */
export function installContactAddresses(ctx: ServerContext, host: Host): void {
  host.disco.addExtension('server', () => {
    const set = CONTACT_KINDS.filter((kind) => ctx.config.contactAddresses[kind].length > 0);
    if (set.length === 0) return null;
    const x = xml('x', { xmlns: NS.DATA, type: 'result' });
    x.cnode(formField('FORM_TYPE', SERVERINFO, { type: 'hidden' }));
    for (const kind of set) x.cnode(formField(`${kind}-addresses`, ctx.config.contactAddresses[kind], { type: 'list-multi' }));
    return x;
  });
}
