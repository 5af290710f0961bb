import { Command, CommanderError, Option } from 'commander';
import { addUser } from './adduser.ts';
import { destroyRoom, kick, reload, rooms, sessions, users } from './admin.ts';
import { checkConfig } from './check-config.ts';
import { CONFIG_ENV, errorLines, nonEmpty, parsePort, UserError } from './common.ts';
import { deleteUser } from './deluser.ts';
import { changePassword } from './passwd.ts';
import { start } from './start.ts';
import { packageVersion } from '../core/version.ts';

const configOption = () =>
  new Option('--config <file>', `JSON config file (default: $${CONFIG_ENV} when that file exists, else built-in defaults)`).argParser(nonEmpty);
const dataDirOption = () => new Option('--data-dir <dir>', 'database folder (overrides dataDir)').argParser(nonEmpty);
const domainOption = () => new Option('--domain <domain>', 'served domain (overrides domain)').argParser(nonEmpty);
const passwordOption = () => new Option('--password <password>', 'the password (default: read one line from stdin)');

export function buildProgram(): Command {
  const program = new Command('mucpush');
  program
    .description('XMPP groupchat server with XEP-0045 rooms and built-in XEP-0357 push')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`mucpush: ${str.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(run mucpush --help for usage)')
    .allowExcessArguments(false);

  program
    .command('start')
    .description('start the server')
    .addOption(configOption())
    .addOption(domainOption())
    .addOption(dataDirOption())
    .addOption(new Option('--c2s-port <port>', 'client port (overrides c2s.port; 0 picks a free port)').argParser(parsePort))
    .addOption(new Option('--http-port <port>', 'HTTP/WebSocket port (overrides http.port; 0 picks a free port)').argParser(parsePort))
    .addOption(new Option('--host <address>', 'listen address for c2s and http (overrides c2s.host and http.host)').argParser(nonEmpty))
    .addOption(new Option('--ephemeral', 'use a new temporary data folder, removed on exit (for tests; not with --data-dir)').conflicts('dataDir'))
    .addOption(new Option('--unlocked-rooms', 'new rooms open without the configuration form (sets muc.unlockedByDefault)'))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (overrides log.level)'))
    .action(start);

  program
    .command('adduser')
    .description('create an account (on the running server, or in the database of a stopped one)')
    .argument('<jid>', 'user@domain')
    .addOption(passwordOption())
    .addOption(configOption())
    .addOption(domainOption())
    .addOption(dataDirOption())
    .action(addUser);

  program
    .command('passwd')
    .description("change an account's password (running or stopped server)")
    .argument('<jid>', 'user@domain')
    .addOption(passwordOption())
    .addOption(configOption())
    .addOption(domainOption())
    .addOption(dataDirOption())
    .action(changePassword);

  program
    .command('deluser')
    .description('delete an account and end its sessions (running or stopped server)')
    .argument('<jid>', 'user@domain')
    .addOption(configOption())
    .addOption(domainOption())
    .addOption(dataDirOption())
    .action(deleteUser);

  const reasonOption = () => new Option('--reason <text>', 'the reason the occupants are told');
  const jsonOption = () => new Option('--json', 'print JSON instead of text');
  const adminCommand = (name: string, description: string) =>
    program.command(name).description(description).addOption(configOption()).addOption(domainOption()).addOption(dataDirOption());

  adminCommand('users', 'list the accounts (running or stopped server)').addOption(jsonOption()).action(users);
  adminCommand('sessions', 'list the sessions of the running server: full JID, transport, address, since, stream management')
    .addOption(jsonOption())
    .action(sessions);
  adminCommand('rooms', 'list the rooms of the running server with their occupants').addOption(jsonOption()).action(rooms);
  adminCommand('destroy-room', 'destroy a room on the running server (its occupants are told)')
    .argument('<room-jid>', 'room@conference.domain')
    .addOption(reasonOption())
    .action(destroyRoom);
  adminCommand('kick', 'kick an occupant from a room on the running server (status 307)')
    .argument('<room-jid>', 'room@conference.domain')
    .argument('<nick>', "the occupant's nickname")
    .addOption(reasonOption())
    .action(kick);
  adminCommand('reload', 'make the running server read its config file again (the same as SIGHUP)').action(reload);

  program
    .command('check-config')
    .description('validate a config file: prints ok, or every error (exit status 1)')
    .argument('<file>', 'JSON config file')
    .action(checkConfig);

  return program;
}

/**
 * Runs the CLI and returns the exit status for commands that finish (0 on success). `start`
 * returns 0 once the server is listening; the process then lives until a signal.
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Already printed by commander (help and version exit 0).
      return err.exitCode;
    }
    for (const line of errorLines(err)) process.stderr.write(`mucpush: ${line}\n`);
    if (!(err instanceof UserError) && process.env['MUCPUSH_DEBUG'] && err instanceof Error && err.stack) {
      process.stderr.write(`${err.stack}\n`);
    }
    return 1;
  }
}
