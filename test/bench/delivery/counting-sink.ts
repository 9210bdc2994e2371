import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { SMTPServer } from 'smtp-server'

// The SMTP server both subjects send to. test/helpers/smtp-sink.ts parses
// every message with mailparser, which costs more CPU per mail than sending
// it: on a shared 2-core machine the sink would set the pace of both sides.
// This one reads only the header block, for the Message-ID, and notes when
// the message ended (just before its 250), so what it measures is the sender.

/** milliseconds since the epoch with sub-millisecond resolution, comparable across processes on this machine */
export const wallNow = () => performance.timeOrigin + performance.now()

export interface Arrival {
  messageId: string
  /** wallNow() when the message's data ended */
  at: number
}

export interface CountingSink {
  /** smtp://127.0.0.1:<port> */
  url: string
  arrivals: Arrival[]
  /** distinct Message-IDs since the last reset (a repeat counts once) */
  distinct(): number
  /** forgets what arrived (between runs) */
  reset(): void
  /** resolves once `count` distinct messages arrived since the last reset; rejects after `timeoutMs` saying how many did */
  waitFor(count: number, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

const HEADER_END = '\r\n\r\n'
/** nodemailer writes the Message-ID on one line */
const MESSAGE_ID = /^message-id:[ \t]*(<[^>\r\n]*>)/im

export async function startCountingSink(): Promise<CountingSink> {
  let arrivals: Arrival[] = []
  let seen = new Set<string>()
  let waiter: { count: number; resolve: () => void } | undefined
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let header = ''
      let complete = false
      stream.on('data', (chunk: Buffer) => {
        if (complete) return
        header += chunk.toString('latin1')
        const end = header.indexOf(HEADER_END)
        if (end >= 0) {
          header = header.slice(0, end)
          complete = true
        }
      })
      stream.on('end', () => {
        const messageId = MESSAGE_ID.exec(header)?.[1] ?? ''
        arrivals.push({ messageId, at: wallNow() })
        seen.add(messageId)
        if (waiter && seen.size >= waiter.count) waiter.resolve()
        callback()
      })
    },
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port))
  })
  return {
    url: `smtp://127.0.0.1:${port}`,
    get arrivals() {
      return arrivals
    },
    distinct: () => seen.size,
    reset() {
      arrivals = []
      seen = new Set()
      waiter = undefined
    },
    waitFor(count, timeoutMs) {
      if (seen.size >= count) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined
          reject(new Error(`${seen.size} of ${count} mails arrived within ${(timeoutMs / 1000).toFixed(0)} s`))
        }, timeoutMs)
        waiter = { count, resolve: () => (clearTimeout(timer), (waiter = undefined), resolve()) }
      })
    },
    close() {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) connection.close()
      return closing
    },
  }
}
