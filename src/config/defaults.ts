import type { Config } from './types.ts';

/** The MUC service domain derived from the user domain when none is configured. */
export function defaultMucDomain(domain: string): string {
  return `conference.${domain}`;
}

/** The built-in push app server domain derived from the user domain when none is configured. */
export function defaultAppServerDomain(domain: string): string {
  return `push.${domain}`;
}

/**
 * The embedded default configuration: a server for `localhost` listening on loopback, its
 * LevelDB in `./data` (relative to the working directory). The service domains are already
 * resolved (`conference.localhost`, `push.localhost`); in a config file `null` (or leaving the
 * key out) means "derive from `domain`" and `false` disables the service (`null` in `Config`).
 * Returns a fresh object every call: callers may mutate it.
 */
export function defaultConfig(): Config {
  const domain = 'localhost';
  return {
    domain,
    dataDir: './data',
    admins: [],
    contactAddresses: { abuse: [], admin: [], feedback: [], sales: [], security: [], status: [], support: [] },
    c2s: {
      host: '127.0.0.1',
      port: 5222,
      directTlsPort: null,
      requireTls: true,
    },
    http: {
      host: '127.0.0.1',
      port: 5280,
      trustedProxies: [],
    },
    tls: {
      certFile: null,
      keyFile: null,
    },
    limits: {
      maxStanzaBytes: 262144,
      maxDepth: 64,
      rateBytesPerSecond: 65536,
      rateBurstBytes: 262144,
      authTimeoutSeconds: 60,
      authFailuresPerMinute: 10,
      exemptAddresses: ['127.0.0.0/8', '::1'],
      maxPendingOutputBytes: 4194304,
      sendTimeoutSeconds: 180,
    },
    registration: {
      enabled: true,
      perAddressPerMinute: 3,
    },
    streamManagement: {
      resumeTimeoutSeconds: 300,
      maxQueue: 1000,
      maxQueueBytes: 16777216,
    },
    ping: {
      idleSeconds: 300,
      timeoutSeconds: 60,
    },
    muc: {
      domain: defaultMucDomain(domain),
      createRooms: 'anyone',
      unlockedByDefault: false,
      maxHistoryLength: 100,
      maxLiveRooms: 1000,
      roomCreationPerAddressPerMinute: 10,
      defaultRoomConfig: {
        name: '',
        description: '',
        language: '',
        // Persistent: a room that vanished with its last occupant could never push again.
        persistent: true,
        public: true,
        membersOnly: false,
        moderated: false,
        passwordProtected: false,
        password: '',
        whois: 'moderators',
        maxUsers: 0,
        historyLength: 20,
        changeSubject: false,
        allowInvites: false,
        allowPm: 'anyone',
        archiving: true,
        presenceBroadcast: ['moderator', 'participant', 'visitor'],
        allowRegister: true,
        pushPolicy: 'default',
      },
    },
    push: {
      mucPolicy: 'mentions',
      maxDevices: 5,
      maxErrors: 16,
      withSender: true,
      withBody: false,
      importantBody: 'New Message!',
      timeoutSeconds: 30,
    },
    appServer: {
      domain: defaultAppServerDomain(domain),
      keepPerNode: 100,
      webhook: null,
      nodeWebhooks: {},
      httpToken: null,
    },
    log: {
      level: 'info',
    },
  };
}
