import { packageVersion } from '../core/version.ts';
import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/**
 * XEP-0092 for the server itself: name and version only. <os/> is omitted on purpose (it tells
 * an attacker what to target), as Prosody does by default. A set falls to service-unavailable.
 */
export function installSoftwareVersion(host: Host): void {
  const version = packageVersion();
  host.iq.on('server', 'get', 'query', NS.VERSION, () => xml('query', { xmlns: NS.VERSION }, xml('name', {}, 'mucpush'), xml('version', {}, version)));
  host.disco.addFeature('server', NS.VERSION);
}
