import http from 'node:http'
import https from 'node:https'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { checkOutboundUrl, guardedLookup, RefusedAddressError, type OutboundPolicy } from './outbound-address.ts'
import { PermanentError } from './engine.ts'

// POSTs to registered webhooks, signed per Standard Webhooks
// (https://www.standardwebhooks.com): `webhook-id` (stable per delivery, so
// a receiver drops a repeat), `webhook-timestamp` and `webhook-signature`
// (HMAC-SHA256 of id.timestamp.body with the endpoint's secret), using the
// specification's own library to sign, as receivers use it to verify.

/** A new endpoint's secret, in the specification's whsec_<base64> form. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/** an answer's body is read up to this much (for the error kept when it fails), the rest ignored */
const MAX_ANSWER_BYTES = 2048

export interface WebhookPost {
  url: string
  secret: string
  /** stable for the delivery: the same on every attempt */
  id: string
  body: string
}

/**
 * One attempt, bounded by `timeoutMs` as a whole: a receiver that answers
 * slowly, or drips its answer a byte at a time, cannot hold a worker's
 * slot longer than that (the socket's own timeout only sees idle spells).
 */
export async function postWebhook(post: WebhookPost, policy: OutboundPolicy, timeoutMs: number): Promise<void> {
  try {
    await checkOutboundUrl(post.url, policy)
  } catch (error) {
    if (error instanceof RefusedAddressError) throw new PermanentError(`refused: ${error.message}`)
    throw error
  }
  const url = new URL(post.url)
  const timestamp = new Date()
  const signature = new Webhook(post.secret).sign(post.id, timestamp, post.body)
  const client = url.protocol === 'https:' ? https : http
  let deadline: NodeJS.Timeout | undefined
  const attempt = new Promise<void>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(url.hostname.replace(/^\[|\]$/g, ''), policy),
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(post.body),
          'user-agent': 'incident-tracker-webhooks/1',
          'webhook-id': post.id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
      },
      (response) => {
        let answer = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          if (answer.length < MAX_ANSWER_BYTES) answer += chunk
        })
        response.on('end', () => {
          const status = response.statusCode ?? 0
          if (status >= 200 && status < 300) return resolve()
          const said = answer.trim().slice(0, 200).replace(/\s+/g, ' ')
          const message = `${url.origin} answered ${status}${said ? `: ${said}` : ''}`
          // 410 Gone: the receiver says the endpoint is no more (Standard Webhooks); other answers may pass
          reject(status === 410 ? new PermanentError(message) : new Error(message))
        })
        response.on('error', reject)
      },
    )
    deadline = setTimeout(() => {
      const error = new Error(`${url.origin} did not finish answering within ${timeoutMs} ms`)
      request.destroy(error)
      reject(error) // an answer already under way may end without an 'error' of the request's
    }, timeoutMs)
    request.on('timeout', () => request.destroy(new Error(`${url.origin} did not answer within ${timeoutMs} ms`)))
    request.on('error', (error) => reject(error instanceof RefusedAddressError ? new PermanentError(`refused: ${error.message}`) : error))
    request.end(post.body)
  })
  try {
    await attempt
  } finally {
    clearTimeout(deadline)
  }
}
