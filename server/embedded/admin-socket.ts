import { createConnection, createServer, type Socket } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { runUserCommand, type UserCommand } from '../admin/user-commands.ts'

// One JSON line in, one JSON line out. The socket file is created 0600 in the
// data folder, so only the account that runs the server can use it: the same
// account that could open the data folder directly anyway.

interface Reply {
  ok: boolean
  output: string
}

const MAX_REQUEST_BYTES = 64 * 1024

export function serveAdminSocket(path: string, app: FastifyInstance): { close: () => Promise<void> } {
  const server = createServer((socket) => {
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > MAX_REQUEST_BYTES) return answer(socket, { ok: false, output: 'request too large' })
      const newline = buffer.indexOf('\n')
      if (newline < 0) return
      let command: UserCommand
      try {
        command = JSON.parse(buffer.slice(0, newline)) as UserCommand
      } catch {
        return answer(socket, { ok: false, output: 'the request is not JSON' })
      }
      runUserCommand(app.users, command).then(
        async (result) => {
          if (result.revokedUserId !== undefined) await app.sessionEvents.revoked({ userId: result.revokedUserId })
          answer(socket, { ok: true, output: result.output })
        },
        (error: Error) => answer(socket, { ok: false, output: error.message }),
      )
    })
  })
  const ready = (async () => {
    await rm(path, { force: true })
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve))
    await chmod(path, 0o600)
  })().catch((error) => app.log.warn({ err: error }, 'the user command socket could not start; stop the server to manage users'))

  return {
    async close() {
      await ready
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(path, { force: true })
    },
  }
}

function answer(socket: Socket, reply: Reply) {
  socket.end(JSON.stringify(reply) + '\n')
}

/** Sends a user command to the server that owns the data folder. */
export function sendAdminCommand(path: string, command: UserCommand): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.setTimeout(30_000, () => socket.destroy(new Error('the server did not answer within 30 s')))
    socket.on('connect', () => socket.write(JSON.stringify(command) + '\n'))
    socket.on('data', (chunk: string) => (buffer += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      try {
        resolve(JSON.parse(buffer) as Reply)
      } catch {
        reject(new Error('the server sent an unreadable answer'))
      }
    })
  })
}
