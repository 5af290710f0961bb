import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { selfSignedPaths } from '../../src/transport/tls.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice'], { c2s: { directTlsPort: 0 } });
});
after(() => t.stop());

test('direct TLS (XEP-0368): the certificate verifies, no STARTTLS is offered, SASL is', async () => {
  const port = t.server.ports.directTls;
  assert.ok(port, 'a direct TLS port is listening');
  const ca = await readFile(selfSignedPaths(t.dataDir).cert, 'utf8');
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  assert.equal(socket.authorized, true, String(socket.authorizationError));
  socket.setEncoding('utf8');
  let data = '';
  const features = new Promise<string>((resolve) =>
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('</stream:features>')) resolve(data);
    }),
  );
  socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`);
  const text = await features;
  assert.doesNotMatch(text, /<starttls/);
  assert.match(text, /<mechanism>SCRAM-SHA-256<\/mechanism>/);
  socket.destroy();
});
