import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChildServer } from '../helpers/child-server.ts';

/**
 * The Docker image's contents, without a Docker daemon: the files the Dockerfile copies from
 * the repository, its `npm ci` (production dependencies only), then the server started from
 * that copy must serve the demo page with Converse's assets, and the HEALTHCHECK must pass.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Copy {
  sources: string[];
  dest: string;
}

/** The Dockerfile's `COPY` instructions that take files from the build context (not `--from`). */
function contextCopies(dockerfile: string): Copy[] {
  const copies: Copy[] = [];
  for (const line of dockerfile.split('\n')) {
    const m = /^COPY\s+(.+)$/.exec(line.trim());
    if (!m) continue;
    const words = m[1]!.split(/\s+/);
    if (words.some((w) => w.startsWith('--from'))) continue;
    const paths = words.filter((w) => !w.startsWith('--'));
    copies.push({ sources: paths.slice(0, -1), dest: paths.at(-1)! });
  }
  return copies;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stderr: String(stderr) || (err?.message ?? '') });
    });
  });
}

test('the image (Dockerfile copies + npm ci --omit=dev) serves the demo page with Converse, and its HEALTHCHECK passes', { timeout: 120_000 }, async (t) => {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const copies = contextCopies(dockerfile);
  assert.ok(copies.some((c) => c.sources.includes('package-lock.json')), 'the Dockerfile copies the lock file');
  const npmCi = /RUN\s+(npm ci[^&\n]*)/.exec(dockerfile)?.[1]?.trim().split(/\s+/);
  assert.ok(npmCi?.includes('--omit=dev'), 'the image installs production dependencies only');
  const health = /^HEALTHCHECK .*CMD\s+\[(.+)\]\s*$/m.exec(dockerfile)?.[1];
  assert.ok(health, 'the Dockerfile has a HEALTHCHECK in exec form');
  const healthArgs = JSON.parse(`[${health}]`) as string[];
  assert.equal(healthArgs[0], 'node', 'the health check needs nothing but node (no curl in the slim image)');

  const app = await mkdtemp(join(tmpdir(), 'mucpush-image-'));
  try {
    for (const { sources, dest } of copies) {
      for (const src of sources) {
        const target = dest.endsWith('/') || sources.length > 1 ? join(app, dest, basename(src)) : join(app, dest);
        await mkdir(join(target, '..'), { recursive: true });
        await cp(join(ROOT, src), target, { recursive: true });
      }
    }
    // The cache is used when it has the packages (offline here), the registry otherwise.
    const install = await run('npm', [...npmCi!.slice(1), '--prefer-offline'], { cwd: app, timeout: 60_000 });
    if (install.code !== 0) {
      t.skip(`npm could not install the production dependencies: ${install.stderr.trim().split('\n').slice(-2).join(' ')}`);
      return;
    }

    const server = await startChildServer({}, undefined, { bin: join(app, 'bin', 'mucpush.js') });
    try {
      const base = `http://127.0.0.1:${server.ports.http}`;
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<iframe id="chat" src="\/demo\/chat"/, 'the demo page, not the "converse.js is missing" page');

      const chat = await fetch(`${base}/demo/chat`);
      assert.equal(chat.status, 200);
      const assets = [...(await chat.text()).matchAll(/(?:src|href)="(\/converse\/[^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), `Converse's JS and CSS: ${assets.join(' ')}`);
      // emoji.json: loaded at run time from assets_path.
      for (const asset of [...assets, '/converse/emoji.json']) {
        const res = await fetch(`${base}${asset}`);
        assert.equal(res.status, 200, asset);
        await res.arrayBuffer();
      }

      const [cmd, ...args] = healthArgs;
      const env = { ...process.env, MUCPUSH_HEALTH_URL: `${base}/health` };
      assert.equal((await run(cmd!, args, { cwd: app, env, timeout: 20_000 })).code, 0, 'healthy while running');
      await server.stop();
      assert.equal((await run(cmd!, args, { cwd: app, env, timeout: 20_000 })).code, 1, 'unhealthy once stopped');
    } finally {
      await server.stop();
    }
  } finally {
    await rm(app, { recursive: true, force: true });
  }
});
