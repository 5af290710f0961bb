import { dirname, resolve } from 'node:path';
import { loadConfigFile, validateConfig } from '../config/load.ts';

/** `mucpush check-config FILE`: prints `ok`, or throws the ConfigError (every problem, each naming its field). */
export async function checkConfig(file: string): Promise<void> {
  const raw = await loadConfigFile(file);
  validateConfig(raw, undefined, { baseDir: dirname(resolve(file)), source: file });
  process.stdout.write('ok\n');
}
