import type { Config } from '../config/types.ts';
import type { HttpServer } from '../transport/http.ts';
import { converseDist, staticFiles } from './static.ts';

/**
 * The one-command push demo at http://localhost:5280/: Converse configured for this server
 * (WebSocket, MUC push against the built-in app server, nick registration) beside a live list
 * of the notifications the app server receives.
 */
export function installDemoPage(config: Config, http: HttpServer): void {
  const dist = converseDist();
  if (dist) http.routePrefix('/converse/', staticFiles('/converse/', dist));
  http.route('/', (req, res) => {
    const host = req.headers.host ?? `localhost:${config.http.port}`;
    const html = dist ? demoHtml(config, host) : missingHtml();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
}

function missingHtml(): string {
  return `<!doctype html><meta charset="utf-8"><title>mucpush</title>
<h1>mucpush</h1><p>The demo page needs the <code>converse.js</code> package: run <code>npm install</code> in the mucpush folder.</p>
<p>Pushes received by the built-in app server: <a href="/push/notifications">/push/notifications</a>.</p>`;
}

function demoHtml(config: Config, host: string): string {
  const settings = {
    websocket_url: `ws://${host}/xmpp-websocket`,
    // Converse loads emoji.json, sounds and icons from here (its default is /dist).
    assets_path: '/converse',
    discover_connection_methods: false,
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
    push_app_servers: config.appServer.domain ? [{ jid: config.appServer.domain, node: 'demo', secret: 'demo-secret' }] : [],
    stanza_timeout: 5000,
    show_controlbox_by_default: true,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mucpush demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/converse/converse.min.css">
<style>
  body { margin: 0; display: flex; height: 100vh; font-family: system-ui, sans-serif; }
  #chat { flex: 1; position: relative; }
  #pushes { width: 340px; border-left: 1px solid #ccc; overflow: auto; padding: 0 12px; background: #fafafa; }
  #pushes h2 { font-size: 16px; }
  .push { border: 1px solid #ddd; background: #fff; border-radius: 6px; padding: 8px; margin: 8px 0; font-size: 13px; }
  .push b { display: block; }
  converse-root { position: absolute; inset: 0; }
</style>
</head>
<body>
<div id="chat"><converse-root></converse-root></div>
<aside id="pushes"><h2>Pushes received by ${escapeHtml(config.appServer.domain ?? 'the app server (disabled)')}</h2><div id="list"></div></aside>
<script type="module" src="/converse/converse.min.js"></script>
<script type="module">
  converse.initialize(${JSON.stringify(settings)});
  const list = document.getElementById('list');
  const shown = new Set();
  function show(n) {
    // The initial list and the live stream may overlap: show each notification once.
    const key = [n.node, n.time, n.from, n['message-count']].join('|');
    if (shown.has(key)) return;
    shown.add(key);
    const d = document.createElement('div');
    d.className = 'push';
    d.innerHTML = '<b></b><span></span><br><small></small>';
    d.querySelector('b').textContent = 'node ' + n.node + ' · ' + (n['message-count'] ?? '?') + ' unread';
    d.querySelector('span').textContent = (n['last-message-sender'] ? n['last-message-sender'] + ': ' : '') + (n['last-message-body'] ?? '');
    d.querySelector('small').textContent = n.time + ' from ' + n.from;
    list.prepend(d);
  }
  const events = new EventSource('/push/events');
  events.onmessage = (e) => show(JSON.parse(e.data));
  // What arrived before the page was opened (newest last, so the newest ends up on top).
  fetch('/push/notifications')
    .then((r) => (r.ok ? r.json() : []))
    .then((past) => past.slice(-50).forEach(show))
    .catch(() => {});
</script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
