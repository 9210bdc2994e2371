import { parseArgs } from 'node:util'
import { text } from 'node:stream/consumers'
import { ConfigError, loadConfig } from '../config.ts'
import { openDatabase } from '../../db/connect.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import { userRepository } from '../repositories/users.ts'
import { adminSocketPath, currentOwner, openEmbeddedDatabase } from '../embedded/data-dir.ts'
import { sendAdminCommand } from '../embedded/admin-socket.ts'
import { runUserCommand, type UserCommand } from '../admin/user-commands.ts'

const HELP = `Manage users without the web UI.

  npm run user -- add --username NAME --role viewer|operator|admin (--password PW | --password-stdin)
  npm run user -- list
  npm run user -- set-role --username NAME --role ROLE
  npm run user -- reset-password --username NAME (--password PW | --password-stdin)
  npm run user -- delete --username NAME

Uses DATABASE_URL when set. Otherwise the embedded database in DATA_DIR
(default ./.data): if the server is running there, the command is sent to it;
if not, the command opens the folder itself.
Changing a role or password, or deleting a user, signs that user out.`

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        username: { type: 'string' },
        role: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help || positionals.length === 0) {
    console.log(HELP)
    return values.help ? 0 : 2
  }
  if (positionals.length > 1) {
    console.error(`one command at a time (got ${positionals.join(' ')})\n\n${HELP}`)
    return 2
  }
  const password = values['password-stdin'] ? (await text(process.stdin)).replace(/\r?\n$/, '') : values.password
  const command: UserCommand = { command: positionals[0]!, username: values.username, role: values.role, password }

  const config = loadConfig()
  const output = await execute(config.databaseUrl, config.dataDir, command)
  if (output) console.log(output)
  return 0
}

async function execute(databaseUrl: string | undefined, dataDir: string, command: UserCommand): Promise<string> {
  if (!databaseUrl && (await currentOwner(dataDir))?.role === 'server') {
    const reply = await sendAdminCommand(adminSocketPath(dataDir), command)
    if (!reply.ok) throw new Error(reply.output)
    return reply.output
  }
  const embedded = databaseUrl ? undefined : await openEmbeddedDatabase(dataDir, 'user-command')
  const handle = embedded?.handle ?? (await openDatabase({ databaseUrl, dataDir, poolSize: 1 }))
  try {
    await migrateToLatest(handle.db)
    return (await runUserCommand(userRepository(handle.db), command)).output
  } finally {
    await handle.close()
    await embedded?.release()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error instanceof ConfigError ? error.message : `error: ${error.message}`)
    process.exit(1)
  },
)
