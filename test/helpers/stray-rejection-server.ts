// `mucpush start` as the CLI runs it, plus one test-only trigger: on SIGUSR2 a promise is
// rejected that nobody handles (the kind of bug issue 12 item 6 is about), so a test can see
// whether the process survives it. Usage: node --import tsx this-file.ts CONFIG_FILE
import { start } from '../../src/cli/start.ts';

// Before the start: once `listening` is logged the test may signal at once, and a SIGUSR2 with
// no handler yet kills the process (seen under load in the full suite).
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('stray rejection for the test'));
});
await start({ config: process.argv[2], c2sPort: 0, httpPort: 0 });
