import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/**
 * XEP-0012 section 5: a last-activity query to the server answers its uptime in whole seconds.
 * Queries to accounts (time since logout) are not served: they would need a stored logout
 * time and the presence-subscription check, and fall through to service-unavailable.
 */
export function installServerUptime(host: Host): void {
  const started = Date.now();
  host.iq.on('server', 'get', 'query', NS.LAST, () => xml('query', { xmlns: NS.LAST, seconds: String(Math.floor((Date.now() - started) / 1000)) }));
  host.disco.addFeature('server', NS.LAST);
}
