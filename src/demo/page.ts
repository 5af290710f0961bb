import type { Config } from '../config/types.ts';
import type { HttpServer, RouteHandler } from '../transport/http.ts';
import { converseDist, staticFiles } from './static.ts';

/**
 * The one-command push demo at http://localhost:5280/: Converse configured for this server
 * (WebSocket, MUC push against the built-in app server, nick registration) beside a live list
 * of the notifications the app server receives.
 *
 * Converse runs in an iframe (`/demo/chat`) in its fullscreen mode: that mode sizes itself to
 * the viewport, so only a frame keeps it from covering the push list.
 */
export function installDemoPage(config: Config, http: HttpServer): void {
  const dist = converseDist();
  if (dist) http.routePrefix('/converse/', staticFiles('/converse/', dist));
  const page = (html: (host: string) => string): RouteHandler => (req, res) => {
    const host = req.headers.host ?? `localhost:${config.http.port}`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html(host));
  };
  http.route('/', page(() => (dist ? demoHtml(config) : missingHtml())));
  if (dist) http.route('/demo/chat', page((host) => chatHtml(config, host)));
}

function missingHtml(): string {
  return `<!doctype html><meta charset="utf-8"><title>mucpush</title>
<h1>mucpush</h1><p>The demo page needs the <code>converse.js</code> package, a dependency of mucpush that is not installed here: run <code>npm ci</code> in the mucpush folder.</p>
<p>Pushes received by the built-in app server: <a href="/push/notifications">/push/notifications</a>.</p>`;
}

/** The Converse settings of the demo: this server, MUC push to the built-in app server. */
export function demoSettings(config: Config, host: string): Record<string, unknown> {
  return {
    websocket_url: `ws://${host}/xmpp-websocket`,
    discover_connection_methods: false,
    // Converse's dist is ESM and loads emoji.json, sounds and icons from here (default /dist).
    assets_path: '/converse',
    authentication: 'login',
    view_mode: 'fullscreen',
    enable_muc_push: true,
    auto_register_muc_nickname: true,
    // Join the lounge at once as the JID's local part instead of asking for a nickname.
    muc_nickname_from_jid: true,
    allow_registration: true,
    registration_domain: config.domain,
    default_domain: config.domain,
    muc_domain: config.muc.domain ?? undefined,
    auto_join_rooms: config.muc.domain ? [`lounge@${config.muc.domain}`] : [],
    // The node is set per account once the JID is known (ACCOUNT_NODE below).
    push_app_servers: config.appServer.domain ? [{ jid: config.appServer.domain, secret: 'demo-secret' }] : [],
    stanza_timeout: 5000,
    show_controlbox_by_default: true,
  };
}

/** JSON that is safe inside an inline <script> (the Host header is the client's to choose). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The demo's push node of an account: named after it, so the push list can say whom a push was for. */
export const DEMO_NODE_PREFIX = 'demo-';

/**
 * A push node per account: a node belongs to the first account that enables it, so each
 * account needs its own. Converse enables push once logged in (statusInitialized), reading
 * push_app_servers then: this plugin fills in the node when the JID is set, before that.
 */
const ACCOUNT_NODE = `converse.plugins.add('mucpush-demo-node', {
    initialize() {
      const { api } = this._converse;
      api.listen.on('setUserJID', () => {
        const jid = this._converse.session.get('bare_jid');
        api.settings.set('push_app_servers', api.settings.get('push_app_servers').map((s) => ({ ...s, node: ${JSON.stringify(DEMO_NODE_PREFIX)} + jid })));
      });
    },
  });
  settings.whitelisted_plugins = ['mucpush-demo-node'];`;

/**
 * Converse's fullscreen footer shows sponsor logos from conversejs.org: broken images offline.
 * Converse defines its elements only when no element of that name exists yet, so an empty one
 * defined first takes its place.
 */
const NO_FOOTER = `customElements.define('converse-footer', class extends HTMLElement {});`;

function chatHtml(config: Config, host: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mucpush demo chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/converse/converse.min.css">
</head>
<body>
<converse-root></converse-root>
<script type="module" src="/converse/converse.min.js"></script>
<script type="module">
  const settings = ${scriptJson(demoSettings(config, host))};
  ${ACCOUNT_NODE}
  ${NO_FOOTER}
  converse.initialize(settings);
</script>
</body>
</html>`;
}

function demoHtml(config: Config): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mucpush demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
  body { margin: 0; display: flex; height: 100vh; font-family: system-ui, sans-serif; }
  #chat { flex: 1; min-width: 0; border: 0; height: 100%; }
  #pushes { width: 340px; flex-shrink: 0; border-left: 1px solid #ccc; overflow: auto; padding: 0 12px; background: #fafafa; }
  #pushes h2 { font-size: 16px; }
  #pushes p { font-size: 13px; color: #555; }
  .push { border: 1px solid #ddd; background: #fff; border-radius: 6px; padding: 8px; margin: 8px 0; font-size: 13px; }
  .push b { display: block; }
  .push .placeholder { color: #777; font-style: italic; }
  /* A phone (390 px): the chat on top, the pushes below it, both full width. */
  @media (max-width: 700px) {
    body { flex-direction: column; height: auto; }
    #chat { flex: none; width: 100%; height: 75vh; }
    #pushes { width: auto; border-left: 0; border-top: 1px solid #ccc; }
  }
</style>
</head>
<body>
<iframe id="chat" src="/demo/chat" title="Converse"></iframe>
<aside id="pushes">
<h2>Pushes received by ${escapeHtml(config.appServer.domain ?? 'the app server (disabled)')}</h2>
<p>Log in, join the lounge, close the tab (or open a second browser) and mention the nick: the
notification shows up here.</p>
<p id="locked" hidden>This server is not on loopback only: open this page as
<code>/#token=TOKEN</code> with the token from the server's first start (also in
<code>push-http-token</code> in its data folder) to see the pushes.</p>
<div id="list"></div>
</aside>
<script type="module">
  const list = document.getElementById('list');
  const shown = new Set();
  const demo = ${scriptJson({ nodePrefix: DEMO_NODE_PREFIX, mucDomain: config.muc.domain, withBody: config.push.withBody })};
  // Whom a push was for: the account (its demo node is named after it) and the room (the
  // sender is the room occupant's JID); the fields the app server may give win.
  function forWhom(n) {
    const account = n.account ?? (n.node.startsWith(demo.nodePrefix) ? n.node.slice(demo.nodePrefix.length) : null);
    const sender = n['last-message-sender'];
    const room = n.room ?? (n.from === demo.mucDomain && sender ? sender.split('/')[0] : null);
    const where = room ? ' in ' + room : n.from === demo.mucDomain ? ' in a room of ' + n.from : ' (a chat message)';
    return 'for ' + (account ?? 'the account of node ' + n.node) + where;
  }
  function show(n) {
    // The initial list and the live stream may overlap: show each notification once.
    const key = [n.node, n.time, n.from, n['message-count']].join('|');
    if (shown.has(key)) return;
    shown.add(key);
    const d = document.createElement('div');
    d.className = 'push';
    d.innerHTML = '<b></b><span></span> <span class="placeholder"></span><br><small></small>';
    d.querySelector('b').textContent = forWhom(n) + ' · ' + (n['message-count'] ?? '?') + ' unread';
    d.querySelector('span').textContent = (n['last-message-sender'] ? n['last-message-sender'] + ': ' : '') + (n['last-message-body'] ?? '');
    // With push.withBody off the server sends push.importantBody, not the message.
    if (!demo.withBody && n['last-message-body'] != null) d.querySelector('.placeholder').textContent = '(a placeholder: push.withBody is off, the message is not sent)';
    d.querySelector('small').textContent = n.time + ' · node ' + n.node + ' · from ' + n.from;
    list.prepend(d);
  }
  // A server reachable from elsewhere wants its inspection token: passed in the fragment, never sent on its own.
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const q = token ? '?token=' + encodeURIComponent(token) : '';
  const events = new EventSource('/push/events' + q);
  events.onmessage = (e) => show(JSON.parse(e.data));
  // What arrived before the page was opened (newest last, so the newest ends up on top).
  fetch('/push/notifications' + q)
    .then((r) => {
      if (r.status === 401) {
        events.close();
        document.getElementById('locked').hidden = false;
      }
      return r.ok ? r.json() : [];
    })
    .then((past) => past.slice(-50).forEach(show))
    .catch(() => {});
</script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
