import type { RoomConfig } from '../muc/types.ts';

/**
 * The configuration of a room before its owner submits the form: one key per muc#roomconfig
 * field (XEP-0045 10.1.3), like ejabberd's `default_room_options` and Prosody's
 * `muc_room_default_*`: a room's own fields, plus `passwordProtected` (with `password`: the
 * password every new room starts with). A mapped type, not an interface, so the config schema
 * can walk it.
 */
export type DefaultRoomConfig = {
  [K in keyof RoomConfig | 'passwordProtected']: K extends keyof RoomConfig ? RoomConfig[K] : boolean;
};

/** The levels `log.level` and `--log-level` accept. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The address kinds of XEP-0157's `http://jabber.org/network/serverinfo` form. */
export const CONTACT_KINDS = ['abuse', 'admin', 'feedback', 'sales', 'security', 'status', 'support'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

/** The whole server configuration, after defaults are applied and validated. */
export interface Config {
  /** The user domain served (accounts live here). */
  domain: string;
  /** LevelDB folder; also keeps the generated self-signed certificate. */
  dataDir: string;
  /** Service admins: bare JIDs that are owners in every room. */
  admins: string[];
  /** XEP-0157 contact addresses (URIs) published in the server's disco#info. */
  contactAddresses: Record<ContactKind, string[]>;
  c2s: {
    host: string;
    port: number;
    /** Direct TLS (XEP-0368) port; null disables it. */
    directTlsPort: number | null;
    /** Require TLS before authentication, except on loopback and trusted proxies. */
    requireTls: boolean;
  };
  http: {
    host: string;
    port: number;
    /** Peers whose X-Forwarded-For / TLS termination is trusted (they count as secure). */
    trustedProxies: string[];
  };
  tls: {
    /** PEM files; when both are null a self-signed certificate is generated in dataDir. */
    certFile: string | null;
    keyFile: string | null;
  };
  limits: {
    /** Maximum bytes of one stanza (and of a stream header). */
    maxStanzaBytes: number;
    /** Maximum element nesting depth inside a stanza. */
    maxDepth: number;
    /** Token bucket per connection: sustained bytes per second and burst bytes. */
    rateBytesPerSecond: number;
    rateBurstBytes: number;
    /** Seconds a connection may take to authenticate before connection-timeout. */
    authTimeoutSeconds: number;
    /** Failed SASL attempts per IP per minute before further attempts are refused. */
    authFailuresPerMinute: number;
    /** IPs and CIDR ranges the registration and room-creation limits do not apply to. */
    exemptAddresses: string[];
    /**
     * Output a connection may have waiting for its client to read it (bytes, counted as
     * characters); beyond it the stream ends with resource-constraint, or a resumable XEP-0198
     * session is hibernated.
     */
    maxPendingOutputBytes: number;
    /** Seconds waiting output may go without any of it being sent before the connection is dropped. */
    sendTimeoutSeconds: number;
  };
  registration: {
    /** XEP-0077 in-band registration of new accounts. */
    enabled: boolean;
    /** In-band registrations per client IP per minute (0: unlimited). */
    perAddressPerMinute: number;
  };
  streamManagement: {
    /** Seconds a disconnected resumable session stays hibernated. */
    resumeTimeoutSeconds: number;
    /** Unacked stanzas kept per session before the session is closed. */
    maxQueue: number;
    /** Bytes (counted as characters) of unacked stanzas kept per session before it is closed. */
    maxQueueBytes: number;
  };
  ping: {
    /** Seconds of silence before the server pings a client; 0 disables. */
    idleSeconds: number;
    /** Seconds to wait for the pong before closing the session. */
    timeoutSeconds: number;
  };
  muc: {
    /** null disables the MUC service; default conference.<domain>. */
    domain: string | null;
    /** Who may create rooms. */
    createRooms: 'anyone' | 'local' | 'admins';
    /** New rooms start unlocked (no configuration form needed): handy for CI. */
    unlockedByDefault: boolean;
    /** Upper bound for the room's configurable history length. */
    maxHistoryLength: number;
    /** Rooms kept in memory; past it the least recently used empty persistent room is unloaded (it loads again when addressed). */
    maxLiveRooms: number;
    /** Rooms created per client IP per minute (0: unlimited). */
    roomCreationPerAddressPerMinute: number;
    /** What a new room's form holds until its owner changes it. */
    defaultRoomConfig: DefaultRoomConfig;
  };
  push: {
    /** `mentions` or `all`: which groupchat messages notify absent registered members. */
    mucPolicy: 'mentions' | 'all';
    maxDevices: number;
    maxErrors: number;
    withSender: boolean;
    withBody: boolean;
    importantBody: string;
    /** Seconds to wait for an app server's answer before counting an error. */
    timeoutSeconds: number;
  };
  appServer: {
    /** null disables the built-in app server; default push.<domain>. */
    domain: string | null;
    /** Notifications kept per node. */
    keepPerNode: number;
    /** Optional global webhook receiving each notification as JSON. */
    webhook: string | null;
    /** Per-node webhooks. */
    nodeWebhooks: Record<string, string>;
    /**
     * Token required by /push/notifications and /push/events. null: none while http.host is
     * loopback, else one generated into <dataDir>/push-http-token at the first start.
     */
    httpToken: string | null;
  };
  log: {
    level: LogLevel;
  };
}
