import type { ServerContext } from '../core/context.ts';
import type { Host } from '../host/host.ts';
import { MucService } from './service.ts';
import { installDisco } from './disco.ts';
import { installOwner } from './owner.ts';
import { installHistory } from './history.ts';
import { installSubject } from './subject.ts';
import { installMembersOnly } from './members-only.ts';
import { installPassword } from './password.ts';
import { installMaxUsers } from './max-users.ts';
import { installInvites } from './invites.ts';
import { installMam } from './mam.ts';
import { installRegister } from './register.ts';
import { installSelfPing } from './self-ping.ts';
import { installGhosts } from './ghosts.ts';
import { installAdmin } from './admin.ts';
import { installModerated } from './moderated.ts';

/** Starts the MUC service with its features; each feature is one file hooking the room events. */
export async function installMuc(ctx: ServerContext, host: Host, domain: string): Promise<MucService> {
  const muc = new MucService(ctx, domain);
  installDisco(muc);
  installOwner(muc);
  installHistory(muc);
  installSubject(muc);
  installMembersOnly(muc);
  installPassword(muc);
  installMaxUsers(muc);
  installInvites(muc);
  installMam(muc);
  installRegister(muc);
  installSelfPing(muc);
  installGhosts(muc);
  installAdmin(muc);
  installModerated(muc);
  host.disco.addItem(domain, 'Chatrooms');
  return muc;
}
