import type { ServerContext } from '../core/context.ts';
import type { Host } from '../host/host.ts';
import { MucService } from './service.ts';
import { installDisco } from './disco.ts';
import { installOwner } from './owner.ts';
import { installHistory } from './history.ts';
import { installSubject } from './subject.ts';

/** Starts the MUC service with its features; each feature is one file hooking the room events. */
export async function installMuc(ctx: ServerContext, host: Host, domain: string): Promise<MucService> {
  const muc = new MucService(ctx, domain);
  installDisco(muc);
  installOwner(muc);
  installHistory(muc);
  installSubject(muc);
  host.disco.addItem(domain, 'Chatrooms');
  await muc.load();
  return muc;
}
