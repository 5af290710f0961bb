import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small tmpfs for disk-full tests; `skip` says why there is none (mounting needs root). */
export interface SmallDisk {
  path: string;
  skip: string;
  unmount(): Promise<void>;
}

export async function mountSmallDisk(sizeMb = 20): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), 'mucpush-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (err) {
    await rmdir(path).catch(() => {});
    return { path, skip: `cannot mount a tmpfs (needs root): ${(err as Error).message.split('\n')[0]}`, unmount: async () => {} };
  }
  return {
    path,
    skip: '',
    async unmount() {
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      await rmdir(path).catch(() => {});
    },
  };
}

/** Fills the file system holding `dir` until ENOSPC; returns the filler's path (remove it to free the space). */
export async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const f = await open(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 7);
      for (let i = 0; i < 100_000; i++) {
        try {
          await f.write(chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    return path;
  } finally {
    await f.close().catch(() => {});
  }
}
