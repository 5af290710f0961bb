import { dirname, resolve } from 'node:path';
import { checkConfigValues, ConfigError, loadConfigFile } from '../config/load.ts';
import { checkConfiguredTls } from '../transport/tls.ts';

/**
 * `mucpush check-config FILE`: prints `ok`, or throws a ConfigError listing every problem, each
 * naming its field: the values, how they fit together, and the certificate files (they exist,
 * hold a certificate and its private key).
 */
export async function checkConfig(file: string): Promise<void> {
  const raw = await loadConfigFile(file);
  const { config, errors } = checkConfigValues(raw, undefined, { baseDir: dirname(resolve(file)) });
  // With a tls field already wrong the files are not looked at: that would report it twice.
  if (!errors.some((e) => e.startsWith('tls.'))) errors.push(...(await checkConfiguredTls(config)).errors);
  if (errors.length > 0) throw new ConfigError(errors, file);
  process.stdout.write('ok\n');
}
