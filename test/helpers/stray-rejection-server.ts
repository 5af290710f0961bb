// `mucpush start` as the CLI runs it, plus one test-only trigger: on SIGUSR2 a promise is
// rejected that nobody handles (the kind of bug issue 12 item 6 is about), so a test can see
// whether the process survives it. Usage: node --import tsx this-file.ts CONFIG_FILE
import { start } from '../../src/cli/start.ts';

// Installed before the start: the test signals as soon as it reads the listening line, which
// can reach it before start() has returned here.
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('stray rejection for the test'));
});
await start({ config: process.argv[2], c2sPort: 0, httpPort: 0 });
