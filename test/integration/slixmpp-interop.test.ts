import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../interop/run.sh', import.meta.url));
const hasSlixmpp = spawnSync('/usr/bin/python3', ['-c', 'import slixmpp'], { stdio: 'ignore' }).status === 0;

// Another client library than the one in our own tests: Debian's python3-slixmpp (.ci/run installs it).
test('slixmpp registers, logs in with SCRAM on plain loopback TCP, chats, pings, reads disco and joins a room', { skip: hasSlixmpp ? false : 'python3-slixmpp is not installed (apt-get install python3-slixmpp)', timeout: 60_000 }, () => {
  const run = spawnSync('bash', [script], { encoding: 'utf8', timeout: 55_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /SCRAM-SHA-256/);
  assert.match(run.stdout, /slixmpp steps: \d+ ok, 0 failed/);
});
