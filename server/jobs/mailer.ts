import nodemailer from 'nodemailer'
import { PermanentError } from './engine.ts'

export interface Mail {
  to: string
  subject: string
  text: string
  html: string
  /** stable for the delivery, so a mail sent again after a crash is recognisably the same message */
  messageId: string
}

export interface Mailer {
  send(mail: Mail): Promise<void>
  close(): void
}

/**
 * Mail through the SMTP server in SMTP_URL (nodemailer), over a small pool of
 * connections kept open between messages, so a burst of alerts does not pay
 * for a connection and a TLS handshake each.
 */
export function smtpMailer(url: string, from: string, timeoutMs: number): Mailer {
  // the URL's options, with pooling and timeouts added: nodemailer reads both from one URL
  const withOptions = new URL(url)
  withOptions.searchParams.set('pool', 'true')
  withOptions.searchParams.set('maxConnections', '5')
  for (const key of ['connectionTimeout', 'greetingTimeout', 'socketTimeout']) withOptions.searchParams.set(key, String(timeoutMs))
  const transport = nodemailer.createTransport(withOptions.toString())
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId })
    },
    close: () => transport.close(),
  }
}

/** No SMTP_URL: every mail fails at once, saying why, and is listed as a failed delivery. */
export function noMailer(): Mailer {
  return {
    send: async () => {
      throw new PermanentError('mail is not configured: set SMTP_URL')
    },
    close: () => {},
  }
}
