import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface ReceivedWebhook {
  /** `webhook-id`: the same on every attempt of one delivery, what a receiver drops a repeat by */
  id: string
  body: any
  at: number
  /** the sender had hung up before the answer: it never heard it, and will POST again */
  unheard: boolean
}

/** A verified POST whose answer is held (see `hold`). */
export interface HeldWebhook {
  id: string
  /** its sender has hung up while waiting for the answer */
  senderGone: boolean
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port>/hook: what to register */
  url: string
  port: number
  /** the endpoint's secret (whsec_…), from the 201 of POST /api/webhooks: every POST is verified with it */
  trust(secret: string): void
  /** every POST that passed verification and was answered 2xx, as they came, repeats included */
  received: ReceivedWebhook[]
  /** the deliveries a receiver that drops repeats (by webhook-id) keeps, in order of arrival */
  distinct(): ReceivedWebhook[]
  /** POSTs refused with 401: no secret trusted yet, or a signature that does not verify */
  rejected: number
  /** answer every verified POST with this status (500: try again; 410: gone for good) instead of 204, recording nothing; undefined: 204 again */
  answerWith(status: number | undefined): void
  /** hold each verified POST's answer until `release` (a sender waits mid-send) */
  hold(): void
  holding(): HeldWebhook[]
  /** answers every held POST 204 and records it, whether or not its sender still waits */
  release(): void
  /** stops listening (connections refused) until `start` */
  stop(): Promise<void>
  /** listens again on the same port */
  start(): Promise<void>
  close(): Promise<void>
}

/** bodies above this are refused: the tracker's are a few kilobytes */
const MAX_BODY = 1024 * 1024

/**
 * A real HTTP endpoint on a loopback port that receives the tracker's
 * webhooks as a Standard Webhooks receiver does: it verifies each POST's
 * signature and timestamp with the specification's own library
 * (`new Webhook(secret).verify(body, headers)`) on the raw body, refuses what
 * does not verify (401), and keeps what does. A delivery counts once it is
 * answered 2xx, as the sender's success does. The servers under test reach
 * it only with WEBHOOK_ALLOWED_HOSTS=127.0.0.1 (it is a loopback address).
 */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = []
  let secret: string | undefined
  let status: number | undefined
  let held: { hook: HeldWebhook; answer: () => void }[] | undefined
  let server: Server
  const sockets = new Set<Socket>()

  function handle(request: IncomingMessage, response: ServerResponse) {
    if (request.method !== 'POST') return void response.writeHead(405).end()
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) request.destroy()
      else chunks.push(chunk)
    })
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name] ?? '')]))
      let body: unknown
      try {
        if (!secret) throw new Error('no secret trusted yet')
        body = new Webhook(secret).verify(raw, headers)
      } catch (error) {
        receiver.rejected++
        return void response.writeHead(401, { 'content-type': 'text/plain' }).end(`signature refused: ${(error as Error).message}`)
      }
      if (status !== undefined) return void response.writeHead(status, { 'content-type': 'text/plain' }).end(`answering ${status} as told`)
      let answered = false
      const senderGone = () => answered === false && (request.socket.destroyed || response.destroyed)
      const answer = () => {
        answered = true
        received.push({ id: headers['webhook-id']!, body, at: Date.now(), unheard: request.socket.destroyed || response.destroyed })
        if (!response.destroyed) response.writeHead(204).end()
      }
      if (held) held.push({ hook: { id: headers['webhook-id']!, get senderGone() { return senderGone() } }, answer })
      else answer()
    })
  }

  const listen = (p: number) => new Promise<number>((resolve, reject) => {
    server = createServer(handle)
    server.on('connection', (socket) => {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    })
    server.once('error', reject)
    server.listen(p, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
  const boundPort = await listen(port)

  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${boundPort}/hook`,
    port: boundPort,
    trust: (given) => void (secret = given),
    received,
    distinct() {
      const seen = new Set<string>()
      return received.filter((r) => !seen.has(r.id) && seen.add(r.id))
    },
    rejected: 0,
    answerWith: (given) => void (status = given),
    hold() {
      held ??= []
    },
    holding: () => (held ?? []).map((h) => h.hook),
    release() {
      const waiting = held ?? []
      held = undefined
      for (const { answer } of waiting) answer()
    },
    async stop() {
      // close() waits for open connections (kept alive): end them so the port is free at once
      const closing = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closing
    },
    start: async () => void (await listen(boundPort)),
    close: () => receiver.stop(),
  }
  return receiver
}
