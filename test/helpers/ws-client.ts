import WebSocket from 'ws'
import type { ReadyFrame, ServerFrame } from '../../contracts/live.ts'

export interface LiveClient {
  frames: ServerFrame[]
  /** resolves when `count` frames matching `match` have arrived (or rejects after `timeoutMs`) */
  waitFor(match: (frame: ServerFrame) => boolean, count?: number, timeoutMs?: number): Promise<ServerFrame[]>
  closed: Promise<{ code: number; reason: string }>
  socket: WebSocket
  close(): void
}

/** Opens a socket and collects every frame; rejects with the HTTP status when the upgrade is refused. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    const frames: ServerFrame[] = []
    const waiters = new Set<() => void>()
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    )
    socket.on('message', (data) => {
      frames.push(JSON.parse(data.toString()) as ServerFrame)
      for (const wake of waiters) wake()
    })
    socket.on('unexpected-response', (_request, response) => {
      reject(Object.assign(new Error(`upgrade refused with ${response.statusCode}`), { status: response.statusCode }))
      socket.terminate()
    })
    socket.on('error', (error) => reject(error))
    socket.on('open', () =>
      resolve({
        frames,
        socket,
        closed,
        close: () => socket.close(),
        waitFor(match, count = 1, timeoutMs = 10_000) {
          return new Promise((done, fail) => {
            const check = () => {
              const found = frames.filter(match)
              if (found.length >= count) {
                waiters.delete(check)
                clearTimeout(timer)
                done(found)
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`timed out waiting for ${count} frames; have ${frames.filter(match).length} matching of ${frames.length}`))
            }, timeoutMs)
            waiters.add(check)
            check()
          })
        },
      }),
    )
  })
}

/** The HTTP status a refused upgrade got. */
export async function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const client = await connect(url, headers)
    client.close()
    return 101
  } catch (error) {
    return (error as { status?: number }).status ?? -1
  }
}

/** The `ready` frame a socket got (waiting for it): the position and epoch a client resumes from (`?since=<id>&epoch=<epoch>`). */
export async function readyOf(client: LiveClient): Promise<ReadyFrame> {
  const [ready] = await client.waitFor((frame) => frame.type === 'ready')
  return ready as ReadyFrame
}
