import type { Config } from '../config/types.ts';
import { formField, formValues, parseBool, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { AllowPm, PushPolicyOverride, Role, RoomConfig, Whois } from './types.ts';

export function defaultRoomConfig(server: Config): RoomConfig {
  return {
    name: '',
    description: '',
    language: '',
    persistent: false,
    public: true,
    password: '',
    membersOnly: false,
    moderated: false,
    whois: 'moderators',
    maxUsers: server.muc.maxUsers,
    historyLength: server.muc.historyLength,
    changeSubject: false,
    allowInvites: false,
    allowPm: 'anyone',
    archiving: true,
    presenceBroadcast: ['moderator', 'participant', 'visitor'],
    allowRegister: true,
    pushPolicy: 'default',
  };
}

const ROLES: Role[] = ['moderator', 'participant', 'visitor'];

/** The muc#roomconfig form (XEP-0045 15.5.3), filled with the room's current values. */
export function configForm(c: RoomConfig, maxHistory: number): Element {
  const x = xml('x', { xmlns: NS.DATA, type: 'form' }, xml('title', {}, 'Room configuration'));
  x.cnode(formField('FORM_TYPE', NS.MUC_ROOMCONFIG, { type: 'hidden' }));
  x.cnode(formField('muc#roomconfig_roomname', c.name, { type: 'text-single', label: 'Name' }));
  x.cnode(formField('muc#roomconfig_roomdesc', c.description, { type: 'text-single', label: 'Description' }));
  x.cnode(formField('muc#roomconfig_lang', c.language, { type: 'text-single', label: 'Language' }));
  x.cnode(formField('muc#roomconfig_persistentroom', c.persistent, { type: 'boolean', label: 'Persistent' }));
  x.cnode(formField('muc#roomconfig_publicroom', c.public, { type: 'boolean', label: 'Listed in the directory' }));
  x.cnode(formField('muc#roomconfig_passwordprotectedroom', c.password !== '', { type: 'boolean', label: 'Password protected' }));
  x.cnode(formField('muc#roomconfig_roomsecret', c.password, { type: 'text-private', label: 'Password' }));
  x.cnode(formField('muc#roomconfig_membersonly', c.membersOnly, { type: 'boolean', label: 'Members only' }));
  x.cnode(formField('muc#roomconfig_moderatedroom', c.moderated, { type: 'boolean', label: 'Moderated' }));
  x.cnode(
    formField('muc#roomconfig_whois', c.whois, {
      type: 'list-single',
      label: 'Who may see real JIDs',
      options: [
        { label: 'Moderators', value: 'moderators' },
        { label: 'Anyone', value: 'anyone' },
      ],
    }),
  );
  x.cnode(formField('muc#roomconfig_maxusers', c.maxUsers, { type: 'text-single', label: 'Maximum occupants (0 = unlimited)' }));
  x.cnode(formField('muc#roomconfig_historylength', c.historyLength, { type: 'text-single', label: `History messages sent on join (up to ${maxHistory})` }));
  x.cnode(formField('muc#roomconfig_changesubject', c.changeSubject, { type: 'boolean', label: 'Occupants may change the subject' }));
  x.cnode(formField('muc#roomconfig_allowinvites', c.allowInvites, { type: 'boolean', label: 'Occupants may invite' }));
  x.cnode(
    formField('muc#roomconfig_allowpm', c.allowPm, {
      type: 'list-single',
      label: 'Who may send private messages',
      options: [
        { label: 'Anyone', value: 'anyone' },
        { label: 'Participants', value: 'participants' },
        { label: 'Moderators', value: 'moderators' },
        { label: 'Nobody', value: 'none' },
      ],
    }),
  );
  x.cnode(formField('muc#roomconfig_enablearchiving', c.archiving, { type: 'boolean', label: 'Archive messages (XEP-0313)' }));
  x.cnode(
    formField('muc#roomconfig_presencebroadcast', c.presenceBroadcast, {
      type: 'list-multi',
      label: 'Roles whose presence is broadcast',
      options: ROLES.map((value) => ({ label: `${value[0]!.toUpperCase()}${value.slice(1)}s`, value })),
    }),
  );
  x.cnode(formField('muc#roomconfig_allowregister', c.allowRegister, { type: 'boolean', label: 'Visitors may register a nickname and become members' }));
  x.cnode(
    formField('mucpush#push_policy', c.pushPolicy, {
      type: 'list-single',
      label: 'Push notifications for absent members',
      options: [
        { label: 'As the server is set up', value: 'default' },
        { label: 'Only mentions', value: 'mentions' },
        { label: 'Every message', value: 'all' },
      ],
    }),
  );
  return x;
}

function bool(values: Map<string, string[]>, key: string, current: boolean): boolean {
  const v = values.get(key);
  if (!v || v.length === 0) return current;
  const b = parseBool(v[0]);
  if (b === undefined) throw new StanzaError('not-acceptable', `${key} must be a boolean`);
  return b;
}

function int(values: Map<string, string[]>, key: string, current: number, max: number): number {
  const v = values.get(key)?.[0];
  if (v === undefined || v === '') return current;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new StanzaError('not-acceptable', `${key} must be a whole number from 0 to ${max}`);
  return n;
}

function oneOf<T extends string>(values: Map<string, string[]>, key: string, current: T, allowed: readonly T[]): T {
  const v = values.get(key)?.[0];
  if (v === undefined) return current;
  if (!allowed.includes(v as T)) throw new StanzaError('not-acceptable', `${key} must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Applies a submitted form to a copy of the configuration; bad values are not-acceptable. */
export function applyConfigForm(form: Element, current: RoomConfig, maxHistory: number): RoomConfig {
  const values = formValues(form);
  const formType = values.get('FORM_TYPE')?.[0];
  if (formType !== undefined && formType !== NS.MUC_ROOMCONFIG) throw new StanzaError('bad-request', 'FORM_TYPE must be muc#roomconfig');
  const text = (key: string, cur: string) => values.get(key)?.join('\n') ?? cur;
  const next: RoomConfig = {
    ...current,
    name: text('muc#roomconfig_roomname', current.name),
    description: text('muc#roomconfig_roomdesc', current.description),
    language: text('muc#roomconfig_lang', current.language),
    persistent: bool(values, 'muc#roomconfig_persistentroom', current.persistent),
    public: bool(values, 'muc#roomconfig_publicroom', current.public),
    membersOnly: bool(values, 'muc#roomconfig_membersonly', current.membersOnly),
    moderated: bool(values, 'muc#roomconfig_moderatedroom', current.moderated),
    whois: oneOf<Whois>(values, 'muc#roomconfig_whois', current.whois, ['moderators', 'anyone']),
    maxUsers: int(values, 'muc#roomconfig_maxusers', current.maxUsers, 1_000_000),
    historyLength: int(values, 'muc#roomconfig_historylength', current.historyLength, maxHistory),
    changeSubject: bool(values, 'muc#roomconfig_changesubject', current.changeSubject),
    allowInvites: bool(values, 'muc#roomconfig_allowinvites', current.allowInvites),
    allowPm: oneOf<AllowPm>(values, 'muc#roomconfig_allowpm', current.allowPm, ['anyone', 'participants', 'moderators', 'none']),
    archiving: bool(values, 'muc#roomconfig_enablearchiving', current.archiving),
    allowRegister: bool(values, 'muc#roomconfig_allowregister', current.allowRegister),
    pushPolicy: oneOf<PushPolicyOverride>(values, 'mucpush#push_policy', current.pushPolicy, ['default', 'mentions', 'all']),
  };
  const broadcast = values.get('muc#roomconfig_presencebroadcast');
  if (broadcast) {
    for (const r of broadcast) if (!ROLES.includes(r as Role)) throw new StanzaError('not-acceptable', `unknown role ${r} in muc#roomconfig_presencebroadcast`);
    next.presenceBroadcast = broadcast as Role[];
  }
  // The flag is optional: a client may send only muc#roomconfig_roomsecret (set, or cleared
  // when empty), as Prosody accepts; with the flag off the password is dropped.
  const secret = text('muc#roomconfig_roomsecret', current.password);
  const flag = values.has('muc#roomconfig_passwordprotectedroom') ? bool(values, 'muc#roomconfig_passwordprotectedroom', false) : undefined;
  next.password = flag === false ? '' : secret;
  if (flag === true && next.password === '') throw new StanzaError('not-acceptable', 'a password-protected room needs muc#roomconfig_roomsecret');
  return next;
}

/** XEP-0045 10.2.1: status codes announcing what a configuration change did. */
export function configChangeCodes(before: RoomConfig, after: RoomConfig): number[] {
  const codes = [104];
  if (before.whois !== after.whois) codes.push(after.whois === 'anyone' ? 172 : 173);
  if (before.archiving !== after.archiving) codes.push(after.archiving ? 170 : 171);
  return codes;
}
