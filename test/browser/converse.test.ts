/**
 * Converse 14 (the npm `converse.js` package) in Debian's headless Chromium against a real
 * mucpush: MUC nick registration, MUC push to the built-in app server while the user's session
 * hibernates, and the room archive when she comes back. Observes Converse through a whitelisted
 * `probe` plugin (`window.__c` is `_converse`), never through timing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { DEMO_NODE_PREFIX } from '../../src/demo/page.ts';
import { converseDist } from '../../src/demo/static.ts';
import { deriveCredentials } from '../../src/stream/sasl/credentials.ts';
import { conversePage, launchChromium } from '../helpers/browser.ts';
import { groupchat, registerNick } from '../helpers/muc.ts';
import { createRoom, enableIq, httpNotifications, mentionRef, waitHttpNotifications } from '../helpers/push.ts';
import { sleep, startTestServer, type TestClient, type TestServer } from '../helpers/server.ts';
import { nextHibernation } from '../helpers/session.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const MUC_DOMAIN = 'conference.localhost';
const ROOM = `lounge@${MUC_DOMAIN}`;
const APP_SERVER = 'push.localhost';
const ALICE = 'alice@localhost';
// Named as the demo page names its nodes, so its push list can tell whose it is.
const ALICE_NODE = `${DEMO_NODE_PREFIX}${ALICE}`;
const BOB_NODE = 'bob-node';
const PLAIN = 'anyone around? the build is running';
// Names Bob too: he wrote it and is present, so it must not push to him.
const MENTION = 'alice: the build is green, bob says ship it';

let t: TestServer;
let browser: Browser;
let bob: TestClient;
let port: number;
const pageErrors: string[] = [];
/** Requests that leave this server (the demo page must make none: it works offline). */
const externalRequests: string[] = [];
/** The page last opened: screenshotted into test-artifacts when the test fails. */
let current: Page | undefined;

/**
 * Strophe refuses SCRAM with fewer than 4096 iterations ("server supplied iteration count <
 * 4096"); the test helper's addUser uses 1024 for speed, so browser users get the default.
 */
async function addBrowserUser(username: string): Promise<void> {
  await t.server.ctx.accounts.put({ username, credentials: await deriveCredentials('secret'), created: Date.now() });
}

function aliceSettings(): Record<string, unknown> {
  return {
    websocket_url: `ws://127.0.0.1:${port}/xmpp-websocket`,
    discover_connection_methods: false,
    authentication: 'login',
    auto_login: true,
    jid: ALICE,
    password: 'secret',
    auto_join_rooms: [{ jid: ROOM, nick: 'alice' }],
    view_mode: 'fullscreen',
    enable_muc_push: true,
    push_app_servers: [{ jid: APP_SERVER, node: ALICE_NODE, secret: 'alice-secret' }],
    auto_register_muc_nickname: true,
    clear_cache_on_logout: true,
    stanza_timeout: 5000,
  };
}

/** A fresh browser context (empty storage, so nothing comes from Converse's cache) on `path`. */
async function openPage(path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${path}: ${err.message}`));
  // CONVERSE_CONSOLE=1 shows Converse's console (its log says which IQ it waits for).
  if (process.env.CONVERSE_CONSOLE) page.on('console', (m) => console.log(`[${path} ${m.type()}] ${m.text().slice(0, 300)}`));
  page.on('request', (req) => {
    if (!/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/.test(req.url())) externalRequests.push(`${path}: ${req.url()}`);
  });
  page.on('response', (res) => {
    // Sponsor logos come from the internet and fail here: only our own 404s matter.
    if (res.status() >= 400 && res.url().startsWith(`http://127.0.0.1:${port}/`)) pageErrors.push(`${path}: ${res.status()} ${res.url()}`);
  });
  await page.goto(`http://127.0.0.1:${port}${path}`);
  current = page;
  return page;
}

/**
 * Polls `fn` in the page until it returns a truthy value. (Playwright's waitForFunction would
 * resolve at once on the Promise an async predicate returns.)
 */
async function until<T, A>(page: Page, what: string, fn: (arg: A) => T | Promise<T>, arg: A, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await page.evaluate(fn as never, arg as never) as T;
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

async function untilServer(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

type Probe = { api: { rooms: { get(jid: string): Promise<ProbeModel | undefined> } }; session: ProbeModel };
type ProbeModel = { get(k: string): unknown; session: ProbeModel; messages: { models: ProbeModel[] } };
declare const window: { __c?: Probe };

/** Resolves once Converse has entered the room (connection_status 5 is ENTERED). */
function entered(page: Page): Promise<boolean> {
  return until(page, `Converse to enter ${ROOM}`, async (jid: string) => {
    const room = window.__c ? await window.__c.api.rooms.get(jid) : undefined;
    return room?.session.get('connection_status') === 5;
  }, ROOM);
}

/** The room's messages whose body contains `text`, as Converse holds them. */
function roomMessages(page: Page, text: string): Promise<{ body: string; archived: boolean; from: string }[]> {
  return page.evaluate(async ([jid, text]: string[]) => {
    const room = await window.__c!.api.rooms.get(jid!);
    return (room?.messages.models ?? [])
      .filter((m) => String(m.get('body') ?? '').includes(text!))
      .map((m) => ({ body: String(m.get('body')), archived: Boolean(m.get('is_archived')), from: String(m.get('from')) }));
  }, [ROOM, text]);
}

before(async () => {
  assert.ok(converseDist(), 'the converse.js package is installed (a dev dependency)');
  t = await startTestServer({ streamManagement: { resumeTimeoutSeconds: 120 } });
  port = t.server.ports.http;
  await addBrowserUser('alice');
  await addBrowserUser('carol');
  await t.addUser('bob');
  t.server.http.route('/alice.html', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(conversePage(aliceSettings()));
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
});

test('Converse: nick registration, MUC push while hibernated, the archive on return', { timeout: 60_000 }, async () => {
  try {
    await scenario();
  } catch (err) {
    if (current && !current.isClosed()) {
      await mkdir(ARTIFACTS, { recursive: true });
      await current.screenshot({ path: join(ARTIFACTS, 'converse-failure.png') }).catch(() => {});
    }
    throw err;
  }
});

async function scenario(): Promise<void> {
  // Bob owns the persistent room, registered his nick and enabled push on the MUC service for
  // himself: he is present, so nothing of his own must reach his node.
  bob = await t.login('bob');
  await createRoom(bob, `${ROOM}/bob`);
  await registerNick(bob, ROOM, 'bob');
  await bob.iq(enableIq(MUC_DOMAIN, APP_SERVER, BOB_NODE, 'bob-secret'));

  // 1. Alice in Converse: she enters, registers her nick (a member now) and enables MUC push.
  let alice = await openPage('/alice.html');
  await entered(alice);
  const room = t.server.muc!.rooms.get(ROOM)!;
  await untilServer('alice nick registration', () => room.record.nicks[ALICE] === 'alice');
  assert.equal(room.record.nicks[ALICE], 'alice', 'her nick is registered on the server');
  assert.ok(['member', 'admin', 'owner'].includes(room.record.affiliations[ALICE] ?? 'none'), `affiliation: ${room.record.affiliations[ALICE]}`);
  await until(alice, 'push enabled on the MUC domain', (domain: string) => {
    const enabled = window.__c?.session.get('push_enabled');
    return Array.isArray(enabled) && enabled.includes(domain);
  }, MUC_DOMAIN);
  await untilServer('alice MUC push registration', () => t.server.push.registrations.of(ALICE).some((r) => r.scope === `muc:${MUC_DOMAIN}`));
  const reg = t.server.push.registrations.of(ALICE).find((r) => r.scope === `muc:${MUC_DOMAIN}`)!;
  assert.equal(reg.jid, APP_SERVER);
  assert.equal(reg.node, ALICE_NODE);

  // 2. Alice closes her tab: with stream management on, her session hibernates and she stays
  // in the room as an occupant who cannot receive anything.
  const fullJid = String(await alice.evaluate(() => window.__c!.session.get('jid')));
  await untilServer('stream management with resume', () => Boolean(t.server.ctx.sessions.get(fullJid)?.sm?.id));
  const hibernated = nextHibernation(t, ALICE);
  await alice.context().close();
  await withTimeout(hibernated, 10_000, 'her session to hibernate');

  // 3. Bob writes twice; the second message mentions Alice. The mentions policy pushes once,
  // and the count says two messages are unread.
  await bob.send(groupchat(ROOM, PLAIN));
  await bob.send(groupchat(ROOM, MENTION, [mentionRef(`xmpp:${ALICE}`, 0, 5)]));
  const pushes = await waitHttpNotifications(t, ALICE_NODE, 1, 10_000);
  assert.equal(pushes.length, 1, 'one push: only the mention is worth one');
  assert.equal(pushes[0]!['message-count'], 2, 'two messages are unread');
  assert.equal(pushes[0]!.from, MUC_DOMAIN);
  // Bob's own message names him, but he is present (and its sender): nothing for him. His
  // notification would have been sent together with Alice's; a moment covers the dispatch.
  await sleep(200);
  assert.deepEqual(await httpNotifications(t, BOB_NODE), [], 'nothing for Bob');
  assert.equal((await httpNotifications(t, ALICE_NODE)).length, 1, 'still one push for Alice');

  // 4. Alice comes back in a new tab with empty storage: the messages come from the room's
  // archive (MAM), each exactly once.
  alice = await openPage('/alice.html');
  await entered(alice);
  const seen = await until(alice, 'the mention from the archive', async ([jid, text]: string[]) => {
    const r = await window.__c!.api.rooms.get(jid!);
    return r?.messages.models.some((m) => String(m.get('body') ?? '').includes(text!));
  }, [ROOM, MENTION]);
  assert.ok(seen);
  // Let any duplicate (history plus archive, or a second archive page) arrive before counting.
  await sleep(500);
  for (const text of [PLAIN, MENTION]) {
    const found = await roomMessages(alice, text);
    assert.equal(found.length, 1, `exactly once: ${text} (${JSON.stringify(found)})`);
    assert.ok(found[0]!.archived, `from the archive: ${text}`);
    assert.equal(found[0]!.from, `${ROOM}/bob`);
  }
  await mkdir(ARTIFACTS, { recursive: true });
  await alice.screenshot({ path: join(ARTIFACTS, 'converse-room.png') });

  // The demo page (`/` of `mucpush start`): Carol logs in through Converse's form, lands in the
  // lounge, and the side list shows the push Alice got.
  const demo = await openPage('/');
  await demo.locator('#list .push').first().waitFor({ timeout: 10_000 });
  const chat = demo.frameLocator('#chat');
  await chat.locator('#converse-login-jid').fill('carol@localhost');
  await chat.locator('#converse-login-password').fill('secret');
  await chat.locator('#converse-login-password').press('Enter');
  // The demo page has no probe plugin: wait for the archived mention to be shown in the room.
  await chat.locator('.chat-msg__text', { hasText: MENTION }).first().waitFor({ timeout: 15_000 });
  // Carol got a push node of her own, named after her account.
  const carolNode = `${DEMO_NODE_PREFIX}carol@localhost`;
  await untilServer('carol MUC push registration', () => t.server.push.registrations.of('carol@localhost').some((r) => r.scope === `muc:${MUC_DOMAIN}`));
  assert.equal(t.server.push.registrations.of('carol@localhost').find((r) => r.scope === `muc:${MUC_DOMAIN}`)!.node, carolNode);
  // The card says whom the push was for, and that its body is a placeholder (push.withBody is off).
  const card = (await demo.locator('#list .push').first().textContent()) ?? '';
  assert.match(card, new RegExp(`node ${ALICE_NODE}`));
  assert.match(card, new RegExp(`^for ${ALICE} in ${ROOM} · 2 unread`));
  assert.match(card, /a placeholder: push\.withBody is off/);
  // At 390 px the page fits the width: the chat on top, the pushes below.
  await demo.setViewportSize({ width: 390, height: 844 });
  const scroll = (await demo.evaluate('document.documentElement.scrollWidth')) as number;
  assert.ok(scroll <= 390, `no horizontal scrolling (${scroll} px)`);
  const chatBox = (await demo.locator('#chat').boundingBox())!;
  const pushBox = (await demo.locator('#pushes').boundingBox())!;
  assert.ok(chatBox.width >= 380 && pushBox.width >= 380, JSON.stringify({ chatBox, pushBox }));
  assert.ok(pushBox.y >= chatBox.y + chatBox.height - 1, 'the pushes below the chat');
  assert.deepEqual(externalRequests.filter((r) => r.startsWith('/: ')), [], 'the demo page loads nothing from elsewhere');
  await demo.screenshot({ path: join(ARTIFACTS, 'demo.png') });
  if (process.env.UPDATE_DOCS_SCREENSHOT) await copyFile(join(ARTIFACTS, 'demo.png'), join(ROOT, 'docs', 'demo.png'));

  assert.deepEqual(pageErrors, [], 'no page errors and no failed request of our own');
}
