import { escapeXml } from './names.ts';
import { errorConditionOf, NS, RawTcp } from './raw.ts';
import type { TestServer } from './server.ts';

/** An in-band registration IQ (XEP-0077) for raw streams; the username is XML-escaped. */
export const registerIq = (id: string, username: string, password: string) =>
  `<iq type='set' id='${id}'><query xmlns='${NS.REGISTER}'><username>${escapeXml(username)}</username><password>${escapeXml(password)}</password></query></iq>`;

/** A raw stream before authentication, its features read. */
export async function preAuth(t: TestServer): Promise<RawTcp> {
  const c = await RawTcp.connect(t.server.ports.c2s);
  await c.openAndFeatures();
  return c;
}

/** Registers in-band on a fresh stream: 'result' or the error condition. */
export async function register(t: TestServer, username: string, password: string): Promise<string> {
  const c = await preAuth(t);
  try {
    const reply = await c.iq(registerIq('r', username, password), 'r');
    return reply.attrs.type === 'result' ? 'result' : errorConditionOf(reply)!;
  } finally {
    c.destroy();
  }
}

/** Whether PLAIN and SCRAM-SHA-256 (its signature checked) accept these credentials, each on a fresh stream. */
export async function logins(t: TestServer, username: string, password: string): Promise<{ plain: boolean; scram: boolean }> {
  const a = await preAuth(t);
  const b = await preAuth(t);
  try {
    const plain = (await a.plain(username, password)).name === 'success';
    const saslname = username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    const scram = (await b.scram('SCRAM-SHA-256', saslname, password)).serverSignatureOk;
    return { plain, scram };
  } finally {
    a.destroy();
    b.destroy();
  }
}
