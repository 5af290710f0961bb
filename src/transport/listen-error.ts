/** Where a listener's address comes from, to name in the error an operator gets. */
export interface ListenerSetting {
  port: number;
  host: string;
  /** The config key of the port (`c2s.port`). */
  portKey: string;
  /** The command-line flag that overrides it, when there is one (`--c2s-port`). */
  portFlag: string | null;
  /** The config key of the address (`c2s.host`). */
  hostKey: string;
}

/**
 * Runs `listen`; a failure a setting can fix (port taken, privileged port, address not on this
 * machine) becomes an error that says which key or flag to change. Others pass unchanged.
 */
export async function listenNamed<T>(setting: ListenerSetting, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const { port, host, portKey, portFlag, hostKey } = setting;
    const change = `change ${portKey}${portFlag ? ` or pass ${portFlag}` : ''}`;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} is in use (on ${host}): ${change}`, { cause: err });
    if (code === 'EACCES') throw new Error(`port ${port} needs privileges this process does not have (on ${host}): ${change}`, { cause: err });
    if (code === 'EADDRNOTAVAIL') throw new Error(`address ${host} is not one of this machine's: change ${hostKey} or pass --host`, { cause: err });
    throw err;
  }
}
