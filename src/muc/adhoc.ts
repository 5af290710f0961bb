import type { AdminService } from '../admin/service.ts';
import { AdhocCommands } from '../adhoc/commands.ts';
import { adminForm, one, required } from '../adhoc/forms.ts';
import { formField } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';

/** Command nodes of the MUC service (XEP-0133 defines none for rooms: these are mucpush's own). */
export const MUC_COMMAND = {
  destroyRoom: 'urn:mucpush:muc#destroy-room',
  listRooms: 'urn:mucpush:muc#list-rooms',
} as const;

/**
 * XEP-0050 commands on the MUC service for the service admins: destroy a room (its occupants
 * get the XEP-0045 <destroy/> with the reason) and list the rooms with their occupant counts,
 * through the AdminService operations the CLI uses.
 */
export function installMucCommands(muc: MucService, admin: AdminService): void {
  const commands = new AdhocCommands(muc.domain, (from) => muc.isAdmin(from.bare));
  commands.add({
    node: MUC_COMMAND.destroyRoom,
    name: 'Destroy a Room',
    form: () =>
      adminForm('form', 'Destroying a Room', [
        required(formField('roomjid', undefined, { type: 'jid-single', label: 'The room to destroy' })),
        formField('reason', undefined, { type: 'text-single', label: 'The reason the occupants are told' }),
      ]),
    async run(values) {
      const reason = values.get('reason')?.[0];
      return { note: `destroyed ${await admin.destroyRoom(one(values, 'roomjid'), reason || undefined)}` };
    },
  });
  commands.add({
    node: MUC_COMMAND.listRooms,
    name: 'List Rooms',
    form: null,
    run: async () => {
      const rooms = await admin.rooms();
      return {
        form: adminForm('result', null, [
          formField('roomjids', rooms.map((r) => r.jid), { type: 'jid-multi', label: 'The rooms' }),
          formField('occupants', rooms.map((r) => `${r.jid}: ${r.occupants.length}`), { type: 'text-multi', label: 'Occupants per room' }),
        ]),
      };
    },
  });
  muc.serviceNodes.push(commands);
  muc.serviceFeatures.add(NS.COMMANDS);
  muc.serviceIq.on('set', 'command', NS.COMMANDS, ({ payload, from }) => commands.execute(payload, from));
}
