export type Affiliation = 'owner' | 'admin' | 'member' | 'none' | 'outcast';
export type Role = 'moderator' | 'participant' | 'visitor' | 'none';

export const AFFILIATION_RANK: Record<Affiliation, number> = { outcast: -1, none: 0, member: 1, admin: 2, owner: 3 };
export const ROLE_RANK: Record<Role, number> = { none: 0, visitor: 1, participant: 2, moderator: 3 };

export type Whois = 'moderators' | 'anyone';
export type AllowPm = 'anyone' | 'participants' | 'moderators' | 'none';
export type PushPolicyOverride = 'default' | 'mentions' | 'all';

/** The room configuration (muc#roomconfig), as stored. */
export interface RoomConfig {
  name: string;
  description: string;
  language: string;
  persistent: boolean;
  public: boolean;
  password: string;
  membersOnly: boolean;
  moderated: boolean;
  whois: Whois;
  /** 0 = unlimited. */
  maxUsers: number;
  historyLength: number;
  changeSubject: boolean;
  allowInvites: boolean;
  allowPm: AllowPm;
  archiving: boolean;
  /** Roles whose presence is broadcast. */
  presenceBroadcast: Role[];
  /** Unaffiliated users may register a nick (XEP-0045 7.10) and become members. */
  allowRegister: boolean;
  /** Overrides the server's push policy for this room. */
  pushPolicy: PushPolicyOverride;
}

/** A room's persistent record. */
export interface RoomRecord {
  jid: string;
  config: RoomConfig;
  affiliations: Record<string, Affiliation>;
  /**
   * The reason given with each ban (outcast affiliation), by bare JID, returned in the ban list
   * (XEP-0045 9.2); dropped when the affiliation changes again. Absent from older records.
   */
  reasons?: Record<string, string>;
  /** Registered nicks by bare JID (XEP-0045 7.10). Change them through `Room.setRegisteredNick` (it keeps `nickOwner`'s index). */
  nicks: Record<string, string>;
  subject: { text: string; nick: string } | null;
  locked: boolean;
  created: number;
}
