import type { AdminService } from '../admin/service.ts';
import { AdminError } from '../admin/errors.ts';
import { AdhocCommands, type AdhocCommand } from '../adhoc/commands.ts';
import { adminForm, many, one, required } from '../adhoc/forms.ts';
import type { ServerContext } from '../core/context.ts';
import { formField } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

const node = (name: string) => `${NS.ADMIN}#${name}`;

/**
 * XEP-0133 service administration on the server domain, for the service admins (`admins`):
 * add-user, delete-user, change-user-password, end-user-session, and the registered and online
 * user lists and counts. Each runs the AdminService operation the CLI uses too.
 */
export function installServerCommands(ctx: ServerContext, host: Host, admin: AdminService): void {
  const commands = new AdhocCommands(ctx.config.domain, (from) => ctx.config.admins.includes(from.bare));
  const onlineUsers = () => [...new Set([...ctx.sessions.all()].map((s) => s.jid.bare))].sort();
  const list: AdhocCommand[] = [
    {
      node: node('add-user'),
      name: 'Add a User',
      form: () =>
        adminForm('form', 'Adding a User', [
          required(formField('accountjid', undefined, { type: 'jid-single', label: 'The Jabber ID for the account to be added' })),
          formField('password', undefined, { type: 'text-private', label: 'The password for this account' }),
          formField('password-verify', undefined, { type: 'text-private', label: 'Retype password' }),
        ]),
      async run(values) {
        const password = one(values, 'password');
        const verify = values.get('password-verify')?.[0];
        if (verify !== undefined && verify !== password) throw new AdminError('not-acceptable', 'the passwords do not match');
        return { note: `added ${await admin.addUser(one(values, 'accountjid'), password)}` };
      },
    },
    {
      node: node('delete-user'),
      name: 'Delete a User',
      form: () => adminForm('form', 'Deleting a User', [required(formField('accountjids', undefined, { type: 'jid-multi', label: 'The Jabber ID(s) to delete' }))]),
      async run(values) {
        const jids = many(values, 'accountjids');
        for (const j of jids) admin.account(j); // every JID checked before anything is deleted
        const deleted: string[] = [];
        for (const j of jids) deleted.push(await admin.deleteUser(j));
        return { note: `deleted ${deleted.join(', ')}` };
      },
    },
    {
      node: node('change-user-password'),
      name: 'Change User Password',
      form: () =>
        adminForm('form', 'Changing a User Password', [
          required(formField('accountjid', undefined, { type: 'jid-single', label: 'The Jabber ID for this account' })),
          required(formField('password', undefined, { type: 'text-private', label: 'The password for this account' })),
        ]),
      async run(values) {
        return { note: `changed the password of ${await admin.changePassword(one(values, 'accountjid'), one(values, 'password'))}` };
      },
    },
    {
      node: node('end-user-session'),
      name: 'End User Session',
      form: () =>
        adminForm('form', 'Ending a User Session', [
          required(formField('accountjids', undefined, { type: 'jid-multi', label: 'The Jabber ID(s) for which to end sessions' })),
        ]),
      run(values) {
        let ended = 0;
        for (const j of many(values, 'accountjids')) ended += admin.endSessions(j);
        return { note: `ended ${ended} session${ended === 1 ? '' : 's'}` };
      },
    },
    {
      node: node('get-registered-users-list'),
      name: 'Get List of Registered Users',
      form: null,
      async run() {
        return { form: adminForm('result', null, [formField('registereduserjids', await admin.users(), { type: 'jid-multi', label: 'The list of all users' })]) };
      },
    },
    {
      node: node('get-registered-users-num'),
      name: 'Get Number of Registered Users',
      form: null,
      async run() {
        return { form: adminForm('result', null, [formField('registeredusersnum', await ctx.accounts.count(), { label: 'The number of registered users' })]) };
      },
    },
    {
      node: node('get-online-users-list'),
      name: 'Get List of Online Users',
      form: null,
      run: () => ({ form: adminForm('result', null, [formField('onlineuserjids', onlineUsers(), { type: 'jid-multi', label: 'The list of all online users' })]) }),
    },
    {
      node: node('get-online-users-num'),
      name: 'Get Number of Online Users',
      form: null,
      run: () => ({ form: adminForm('result', null, [formField('onlineusersnum', onlineUsers().length, { label: 'The number of online users' })]) }),
    },
  ];
  for (const c of list) commands.add(c);
  host.disco.nodes.push(commands);
  host.disco.addFeature('server', NS.COMMANDS);
  host.iq.on('server', 'set', 'command', NS.COMMANDS, ({ payload, from }) => commands.execute(payload, from));
}
