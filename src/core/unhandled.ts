import type { Logger } from './logger.ts';

let installed = false;

/**
 * Node 20 ends the process on a rejected promise nobody handles. Every known one is handled
 * where it arises; this is the net for the rest: a stray rejection (a listener's bug, a
 * storage error on a path nobody awaits) is logged and the server keeps serving its other
 * clients, since a rejected promise leaves no shared state half-written the way a thrown
 * synchronous exception can. Installed once per process, however often it is called.
 */
export function installRejectionHandler(log: Logger): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (a bug): logged, the server keeps serving');
  });
}
