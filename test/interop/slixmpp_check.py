#!/usr/bin/python3
"""Interop check: a second XMPP client library (slixmpp, Debian's python3-slixmpp) against mucpush.

Registers two accounts in-band (XEP-0077), logs both in over plain loopback TCP (STARTTLS
disabled) with SCRAM, exchanges a 1:1 chat message, pings the server (XEP-0199), reads
disco#info of the server and of the MUC service and disco#items of the server, then joins a
room (XEP-0045), submits the instant-room form when the room was just created, and exchanges
a groupchat message.

Run with Debian's system python (the one that has slixmpp):
    /usr/bin/python3 test/interop/slixmpp_check.py --port 5222 [--domain localhost] [--debug]
Prints one "ok <step>" line per step and a closing "slixmpp steps: N ok, N failed" line; exits 0 only if
every step passed. Talks to 127.0.0.1 only.
"""

import argparse
import asyncio
import logging
import secrets
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError
from slixmpp.plugins.xep_0004.stanza.form import Form

NS_PING = 'urn:xmpp:ping'
NS_MUC = 'http://jabber.org/protocol/muc'
NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'

TIMEOUT = 10


class CheckFailed(Exception):
    pass


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def ok(self, step, detail=''):
        self.passed += 1
        print(f'ok   {step}' + (f': {detail}' if detail else ''), flush=True)

    def fail(self, step, detail):
        self.failed += 1
        self.failures.append(step)
        print(f'FAIL {step}: {detail}', flush=True)

    def check(self, step, cond, detail='', fail_detail=''):
        if cond:
            self.ok(step, detail)
        else:
            self.fail(step, fail_detail or detail or 'condition not met')
        return cond


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that registers its account in-band, then logs in on the same stream."""

    def __init__(self, jid, password, results, label, register=True, mech=None):
        super().__init__(jid, password)
        self.results = results
        self.label = label
        self.registered = asyncio.get_event_loop().create_future()
        self.started = asyncio.get_event_loop().create_future()
        self.auth_failed = asyncio.get_event_loop().create_future()
        self.offered_mechs = []
        self.last_failure = None
        self.chat_inbox = asyncio.Queue()
        self.groupchat_inbox = asyncio.Queue()

        for plugin in ('xep_0030', 'xep_0004', 'xep_0066', 'xep_0077', 'xep_0199', 'xep_0045'):
            self.register_plugin(plugin)
        # Never auto-create an account on a later connection without our handler.
        self['xep_0077'].force_registration = False
        # PLAIN over an unencrypted stream stays refused (slixmpp's default): SCRAM must be picked.
        self['feature_mechanisms'].unencrypted_plain = False
        if mech:
            self['feature_mechanisms'].use_mech = mech
        # slixmpp 1.8.x (Debian 12's 1.8.3) queues every IQ sent before the session starts except
        # bind and session, so the XEP-0077 register get/set on the unauthenticated stream would
        # never leave ("NOT SENT" in its debug log) and registration hangs. Later slixmpp versions
        # let register IQs through; do the same here until session_start, then restore the default.
        self._always_send_everything = True

        if register:
            self.add_event_handler('register', self.on_register)
        else:
            self.registered.set_result(None)
        self.add_event_handler('session_start', self.on_session_start)
        self.add_event_handler('failed_auth', self.on_failed_auth)
        self.add_event_handler('failed_all_auth', self.on_failed_auth)
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('groupchat_message', self.on_groupchat)
        self.add_filter('in', self.capture_features)

    def capture_features(self, stanza):
        if stanza.name == 'features':
            # Read the raw XML: independent of how the stanza plugin exposes it.
            mechs = stanza.xml.find('{urn:ietf:params:xml:ns:xmpp-sasl}mechanisms')
            if mechs is not None:
                self.offered_mechs = [m.text for m in mechs]
        return stanza

    async def on_register(self, form):
        """XEP-0077: the server advertised the register feature; `form` is its get result."""
        try:
            fields = form['register']['fields']
            iq = self.Iq()
            iq['type'] = 'set'
            iq['register']['username'] = self.boundjid.user
            iq['register']['password'] = self.password
            await iq.send(timeout=TIMEOUT)
            self.results.ok(f'{self.label}: in-band registration (XEP-0077)',
                            f'{self.boundjid.bare}, form fields {sorted(fields)}')
            if not self.registered.done():
                self.registered.set_result(True)
        except (IqError, IqTimeout) as e:
            detail = e.iq.xml if isinstance(e, IqError) else 'timeout'
            self.results.fail(f'{self.label}: in-band registration (XEP-0077)', str(detail))
            if not self.registered.done():
                self.registered.set_result(False)
            self.disconnect()

    def on_failed_auth(self, event=None):
        if event is not None and hasattr(event, 'xml') and self.last_failure is None:
            self.last_failure = ' '.join(child.tag.split('}')[-1] for child in event.xml)
        if not self.auth_failed.done():
            self.auth_failed.set_result(event)

    async def on_session_start(self, event):
        self._always_send_everything = False
        self.send_presence()
        if not self.started.done():
            self.started.set_result(True)

    def on_message(self, msg):
        if msg['type'] in ('chat', 'normal') and msg['body']:
            self.chat_inbox.put_nowait(msg)

    def on_groupchat(self, msg):
        if msg['body']:
            self.groupchat_inbox.put_nowait(msg)


async def wait_first(*futures, timeout):
    done, _ = await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    return done


async def login(client, host, port, results):
    label = client.label
    client.connect((host, port), use_ssl=False, force_starttls=False, disable_starttls=True)
    done = await wait_first(client.started, client.auth_failed, client.disconnected, timeout=TIMEOUT * 2)
    if client.started not in done:
        reason = 'auth failed' if client.auth_failed in done else ('disconnected' if done else 'timeout')
        raise CheckFailed(f'{label}: session did not start ({reason}; registered={client.registered.done() and client.registered.result()})')
    if not client.registered.done():
        results.fail(f'{label}: in-band registration (XEP-0077)', 'the register feature was never handled')
    mech = client['feature_mechanisms'].mech
    mech_name = mech.name if mech else None
    # slixmpp checks the server signature (v=) of SCRAM's server-final-message and sets this.
    verified = bool(getattr(mech, '_mutual_auth', False))
    encrypted = 'starttls' in client.features or isinstance(client.socket, (ssl.SSLSocket, ssl.SSLObject))
    results.check(f'{label}: plain TCP, no TLS', not encrypted, 'STARTTLS skipped',
                  'the stream was encrypted although STARTTLS was disabled')
    results.check(f'{label}: SASL SCRAM login', bool(mech_name) and mech_name.startswith('SCRAM-') and verified,
                  f'mechanism {mech_name} (offered {", ".join(client.offered_mechs)}), server signature verified, '
                  f'bound {client.boundjid.full}',
                  f'mechanism {mech_name} (offered {client.offered_mechs}), server signature verified: {verified}')
    if 'SCRAM-SHA-256' in client.offered_mechs and not client['feature_mechanisms'].use_mech:
        results.check(f'{label}: prefers SCRAM-SHA-256', mech_name == 'SCRAM-SHA-256', mech_name,
                      f'SCRAM-SHA-256 offered but {mech_name} used')
    return mech_name


async def expect(queue, timeout, pred=lambda m: True):
    loop = asyncio.get_event_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        try:
            msg = await asyncio.wait_for(queue.get(), remaining)
        except asyncio.TimeoutError:
            return None
        if pred(msg):
            return msg


async def step(results, name, coro):
    """Runs one step; an exception fails it with the error stanza when there is one."""
    try:
        return await coro
    except IqError as e:
        results.fail(name, f'IQ error: {e.iq.xml}')
    except PresenceError as e:
        results.fail(name, f'presence error: {e.presence.xml}')
    except (IqTimeout, asyncio.TimeoutError):
        results.fail(name, 'timeout')
    except CheckFailed as e:
        results.fail(name, str(e))
    return None


async def run(args):
    results = Results()
    extra = []
    suffix = secrets.token_hex(3)
    domain = args.domain
    muc = args.muc or f'conference.{domain}'
    alice = Client(f'alice-{suffix}@{domain}/slix', 'Secret-a1!' + suffix, results, 'alice')
    bob = Client(f'bob-{suffix}@{domain}/slix', 'Secret-b2!' + suffix, results, 'bob')

    try:
        # 1-2: register and log in both accounts.
        for c in (alice, bob):
            await step(results, f'{c.label}: login', login(c, args.host, args.port, results))
        if not (alice.started.done() and bob.started.done()):
            raise CheckFailed('a client did not log in; skipping the remaining steps')

        # 3: 1:1 chat, to the bare JID and back to the full JID.
        async def chat():
            body = f'hello bob {suffix}'
            alice.send_message(mto=bob.boundjid.bare, mbody=body, mtype='chat')
            msg = await expect(bob.chat_inbox, TIMEOUT, lambda m: m['body'] == body)
            if msg is None:
                raise CheckFailed('bob did not receive the chat message sent to his bare JID')
            if msg['from'] != alice.boundjid:
                raise CheckFailed(f'from is {msg["from"]}, expected {alice.boundjid.full}')
            reply = f'hi alice {suffix}'
            bob.send_message(mto=alice.boundjid.full, mbody=reply, mtype='chat')
            back = await expect(alice.chat_inbox, TIMEOUT, lambda m: m['body'] == reply)
            if back is None:
                raise CheckFailed('alice did not receive the reply sent to her full JID')
            results.ok('chat message alice -> bob (bare JID) and bob -> alice (full JID)')
        await step(results, 'chat message', chat())

        # 4: XEP-0199 ping of the server. slixmpp's ping() counts an error reply from the own
        # server as success, so send the ping ourselves and require a result.
        async def ping():
            iq = await alice['xep_0199'].send_ping(domain, timeout=TIMEOUT)
            if iq['type'] != 'result':
                raise CheckFailed(f'ping answered with type {iq["type"]}: {iq.xml}')
            rtt = await alice['xep_0199'].ping(domain, timeout=TIMEOUT)
            results.ok('ping server (XEP-0199)', f'result from {iq["from"] or "(no from)"}, rtt {rtt * 1000:.1f} ms')
        await step(results, 'ping server (XEP-0199)', ping())

        # 5: disco#info of the server.
        async def disco_server_info():
            iq = await alice['xep_0030'].get_info(jid=domain, local=False, timeout=TIMEOUT)
            info = iq['disco_info']
            features = set(info['features'])
            ids = info['identities']
            for needed in (NS_DISCO_INFO, NS_PING):
                if needed not in features:
                    raise CheckFailed(f'{needed} missing from {sorted(features)}')
            if not any(i[0] == 'server' and i[1] == 'im' for i in ids):
                raise CheckFailed(f'no server/im identity in {ids}')
            results.ok('disco#info of the server', f'identities {sorted(ids)}, {len(features)} features')
        await step(results, 'disco#info of the server', disco_server_info())

        # 6: disco#items of the server lists the MUC service.
        async def disco_server_items():
            iq = await alice['xep_0030'].get_items(jid=domain, local=False, timeout=TIMEOUT)
            items = [i[0] for i in iq['disco_items']['items']]
            if muc not in items:
                raise CheckFailed(f'{muc} missing from {items}')
            results.ok('disco#items of the server', f'items {items}')
        await step(results, 'disco#items of the server', disco_server_items())

        # 7: disco#info of the MUC service.
        async def disco_muc_info():
            iq = await alice['xep_0030'].get_info(jid=muc, local=False, timeout=TIMEOUT)
            info = iq['disco_info']
            features = set(info['features'])
            ids = info['identities']
            if NS_MUC not in features:
                raise CheckFailed(f'{NS_MUC} missing from {sorted(features)}')
            if not any(i[0] == 'conference' and i[1] == 'text' for i in ids):
                raise CheckFailed(f'no conference/text identity in {ids}')
            results.ok(f'disco#info of {muc}', f'identities {sorted(ids)}, {len(features)} features')
        await step(results, f'disco#info of {muc}', disco_muc_info())

        # 8 (bonus): join a room, unlock it with the instant-room form, exchange a groupchat message.
        room = slixmpp.JID(f'interop-{suffix}@{muc}')

        async def muc_join():
            pres, subject, _occupants, _history = await alice['xep_0045'].join_muc_wait(
                room, 'Alice', maxstanzas=0, timeout=TIMEOUT)
            codes = {int(s) for s in pres['muc']['status_codes']}
            if 110 not in codes:
                raise CheckFailed(f'self-presence lacks status 110: {pres.xml}')
            created = 201 in codes
            if created:
                # XEP-0045 10.1.2: accept the default configuration (instant room).
                form = Form()
                form['type'] = 'submit'
                await alice['xep_0045'].set_room_config(room, form, timeout=TIMEOUT)
            results.ok('alice joins a new room (XEP-0045)',
                       f'{room} status codes {sorted(codes)}, affiliation {pres["muc"]["affiliation"]}, '
                       f'role {pres["muc"]["role"]}' + ('; instant-room form accepted' if created else ''))
            pres, subject, occupants, _history = await bob['xep_0045'].join_muc_wait(
                room, 'Bob', maxstanzas=0, timeout=TIMEOUT)
            codes = {int(s) for s in pres['muc']['status_codes']}
            if 110 not in codes:
                raise CheckFailed(f'bob self-presence lacks status 110: {pres.xml}')
            nicks = [o['from'].resource for o in occupants]
            if 'Alice' not in nicks:
                raise CheckFailed(f'bob did not see Alice among the occupants: {nicks}')
            results.ok('bob joins the room', f'occupants seen {nicks}, role {pres["muc"]["role"]}')
            return True

        joined = await step(results, 'MUC join', muc_join())

        if joined:
            async def groupchat():
                body = f'groupchat hello {suffix}'
                alice.send_message(mto=room, mbody=body, mtype='groupchat')
                got = await expect(bob.groupchat_inbox, TIMEOUT, lambda m: m['body'] == body)
                if got is None:
                    raise CheckFailed('bob did not receive the groupchat message')
                if got['from'] != slixmpp.JID(f'{room}/Alice'):
                    raise CheckFailed(f'from is {got["from"]}, expected {room}/Alice')
                echo = await expect(alice.groupchat_inbox, TIMEOUT, lambda m: m['body'] == body)
                if echo is None:
                    raise CheckFailed('alice did not get her own groupchat message reflected')
                reply = f'groupchat reply {suffix}'
                bob.send_message(mto=room, mbody=reply, mtype='groupchat')
                got = await expect(alice.groupchat_inbox, TIMEOUT, lambda m: m['body'] == reply)
                if got is None:
                    raise CheckFailed('alice did not receive the groupchat reply')
                results.ok('groupchat messages exchanged', f'from {room}/Alice and {room}/Bob, echo reflected')
            await step(results, 'groupchat messages', groupchat())

        # 9: the same account logs in again with SCRAM-SHA-1 (a second resource, no registration).
        async def scram_sha1():
            again = Client(f'{alice.boundjid.bare}/sha1', alice.password, results, 'alice (2nd login)',
                           register=False, mech='SCRAM-SHA-1')
            extra.append(again)
            mech = await login(again, args.host, args.port, results)
            if mech != 'SCRAM-SHA-1':
                raise CheckFailed(f'forced SCRAM-SHA-1 but {mech} was used')
        await step(results, 'alice (2nd login): SCRAM-SHA-1', scram_sha1())

        # 10: a wrong password is refused.
        async def wrong_password():
            bad = Client(f'{bob.boundjid.bare}/bad', 'not-the-password', results, 'bob (wrong password)',
                         register=False)
            extra.append(bad)
            bad.connect((args.host, args.port), use_ssl=False, force_starttls=False, disable_starttls=True)
            done = await wait_first(bad.started, bad.auth_failed, timeout=TIMEOUT)
            if bad.started in done:
                raise CheckFailed('logged in with a wrong password')
            if bad.auth_failed not in done:
                raise CheckFailed('neither a SASL failure nor a session within the timeout')
            results.ok('wrong password refused', f'SASL failure {bad.last_failure}')
        await step(results, 'wrong password refused', wrong_password())
    except CheckFailed as e:
        results.fail('setup', str(e))
    finally:
        for c in (alice, bob, *extra):
            if c.transport is not None:
                c.disconnect()
        await asyncio.sleep(0.3)

    # Not the "N passed, N failed" form: CI reads that as the suite's own closing line.
    print(f'slixmpp steps: {results.passed} ok, {results.failed} failed', flush=True)
    return 0 if results.failed == 0 and results.passed > 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--domain', default='localhost')
    p.add_argument('--muc', default=None, help='MUC service JID (default conference.<domain>)')
    p.add_argument('--debug', action='store_true', help="slixmpp's debug log (raw stanzas) on stderr")
    args = p.parse_args()
    if args.host not in ('127.0.0.1', 'localhost', '::1'):
        p.error('this check only talks to loopback')
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format='%(levelname)-8s %(name)s %(message)s')
    print(f'slixmpp {slixmpp.__version__}, python {sys.version.split()[0]}', flush=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == '__main__':
    main()
