import { SMTPServer } from 'smtp-server'
import { simpleParser, type ParsedMail } from 'mailparser'
import type { AddressInfo } from 'node:net'

export interface ReceivedMail {
  messageId: string
  to: string[]
  subject: string
  text: string
  html: string
  at: number
  /**
   * the sender had hung up before this acceptance, so it never heard it and
   * will send the message again (RFC 5321 §4.1.1.4: the duplicate a real
   * server makes when a connection drops between the end of the data and the
   * reply)
   */
  unheard: boolean
}

/** A message received in full whose answer is held (see `hold`). */
export interface HeldMail {
  messageId: string
  to: string[]
  /** its sender has hung up while waiting for the answer */
  senderGone: boolean
}

export interface SmtpSink {
  /** smtp://127.0.0.1:<port> */
  url: string
  port: number
  mails: ReceivedMail[]
  /** the mails to one address */
  to(address: string): ReceivedMail[]
  /** stops listening (connections refused) until `start` */
  stop(): Promise<void>
  /** listens again on the same port */
  start(): Promise<void>
  /** hold each message's final answer until `release` (a sender waits mid-send) */
  hold(): void
  /** the messages waiting for their answer */
  holding(): HeldMail[]
  /** answers every held message: each is accepted (kept), whether or not its sender still waits */
  release(): void
  close(): Promise<void>
}

/**
 * A real SMTP server (smtp-server, from the nodemailer project) on a loopback
 * port: every message it accepts is parsed (mailparser) and kept. A message
 * counts once the server has answered 250 for it, as a real server's
 * acceptance does.
 */
export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const mails: ReceivedMail[] = []
  let held: { mail: HeldMail; accept: () => void }[] | undefined
  /** the sessions whose client has hung up */
  const gone = new Set<string>()
  const make = () => {
    const smtpServer = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onClose(session) {
        gone.add(session.id)
      },
      onData(stream, session, callback) {
        simpleParser(stream).then(
          (parsed: ParsedMail) => {
            const to = [parsed.to].flat().flatMap((a) => a?.value.map((v) => v.address ?? '') ?? [])
            const messageId = parsed.messageId ?? ''
            const accept = () => {
              mails.push({
                messageId, to, subject: parsed.subject ?? '', text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '',
                at: Date.now(), unheard: gone.has(session.id),
              })
              callback()
            }
            if (held) {
              held.push({ mail: { messageId, to, get senderGone() { return gone.has(session.id) } }, accept })
            } else accept()
          },
          (error: Error) => callback(error),
        )
      },
    })
    // A sender killed mid-message (kill -9 of a worker) resets its connection,
    // and smtp-server reports that as an 'error' event on the server. A real
    // mail server logs it and goes on serving the others; so does the sink
    // (onClose has marked the session gone). Unheard, it would end the test
    // process as an uncaught exception.
    smtpServer.on('error', () => {})
    return smtpServer
  }
  let server = make()
  const listen = (p: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(p, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port))
  })
  const boundPort = await listen(port)
  const sink: SmtpSink = {
    url: `smtp://127.0.0.1:${boundPort}`,
    port: boundPort,
    mails,
    to: (address) => mails.filter((m) => m.to.includes(address)),
    async stop() {
      // close() waits for open connections: end them so the port is free at once
      const closing = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) connection.close()
      await closing
    },
    async start() {
      server = make()
      await listen(boundPort)
    },
    hold() {
      held ??= []
    },
    holding: () => (held ?? []).map((h) => h.mail),
    release() {
      const waiting = held ?? []
      held = undefined
      for (const { accept } of waiting) accept()
    },
    close: () => sink.stop(),
  }
  return sink
}
