import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNewRoom, MUC_DOMAIN } from '../helpers/muc.ts';
import { startWithUsers, type TestServer } from '../helpers/server.ts';

// Rooms load on demand: the admin operations find a stored room that is not in memory.

describe('admin room operations on stored rooms', () => {
  let t: TestServer;
  const room = `stored@${MUC_DOMAIN}`;

  before(async () => {
    t = await startWithUsers(['owner']);
    const owner = await t.login('owner');
    await createNewRoom(owner, room, 'O', { 'muc#roomconfig_persistentroom': '1' });
    await owner.stop();
    await t.restart();
  });
  after(async () => {
    await t.stop();
  });

  it('rooms lists a stored room that is not loaded; destroy-room destroys it', async () => {
    assert.equal(t.server.muc!.rooms.has(room), false, 'not loaded after the restart');
    const listed = (await t.server.admin.rooms()).find((r) => r.jid === room);
    assert.deepEqual(listed && { persistent: listed.persistent, occupants: listed.occupants }, { persistent: true, occupants: [] });
    assert.equal(await t.server.admin.destroyRoom(room, 'gone'), room);
    assert.equal((await t.server.admin.rooms()).some((r) => r.jid === room), false);
    await assert.rejects(t.server.admin.destroyRoom(room), /there is no room/);
  });
});
