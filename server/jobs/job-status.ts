import { EventEmitter } from 'node:events'
import { createClient, type RedisClientType } from 'redis'
import type { JobFrame, JobStatus } from '../../contracts/jobs.ts'
import type { StartedBy } from './engine.ts'

// A job's status travels from whichever process runs it (a worker) to the
// instance holding its user's sockets. It is not a notification: it goes
// to one user, is never replayed, and nobody else may see it. So it does not
// go through the outbox and the shared stream but over Redis pub/sub (or an
// in-process emitter on the embedded default); a socket that was closed while
// it passed misses it, and the page reads the outcome from the list it shows
// (invitations, deliveries).

const CHANNEL = 'incident-tracker:job-status'

export interface JobStatusMessage {
  user_id: number
  frame: JobFrame
}

export interface JobStatusChannel {
  publish(startedBy: StartedBy, jobId: string, status: JobStatus['status'], error?: string): void
  subscribe(listener: (message: JobStatusMessage) => void): () => void
  close(): Promise<void>
}

export function statusMessage(startedBy: StartedBy, jobId: string, status: JobStatus['status'], error?: string): JobStatusMessage {
  const job: JobStatus = { id: jobId, kind: startedBy.kind, status, subject_id: startedBy.subjectId, ...(error ? { error } : {}) }
  return { user_id: startedBy.userId, frame: { type: 'job', job } }
}

export function memoryJobStatus(): JobStatusChannel {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(0)
  return {
    publish: (startedBy, jobId, status, error) => void emitter.emit('status', statusMessage(startedBy, jobId, status, error)),
    subscribe(listener) {
      emitter.on('status', listener)
      return () => emitter.off('status', listener)
    },
    close: async () => void emitter.removeAllListeners(),
  }
}

export function redisJobStatus(url: string, onError: (message: string) => void): JobStatusChannel {
  const retry = (attempt: number) => Math.min(100 * 2 ** attempt, 2000)
  const publisher = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: retry } }) as RedisClientType
  let subscriber: RedisClientType | undefined
  const listeners = new Set<(message: JobStatusMessage) => void>()
  let reported = false
  publisher.on('error', () => {
    if (!reported) onError('job status: Redis unreachable; statuses are dropped until it is back')
    reported = true
  })
  publisher.on('ready', () => (reported = false))
  publisher.connect().catch(() => {})

  return {
    publish(startedBy, jobId, status, error) {
      if (!publisher.isReady) return
      publisher.publish(CHANNEL, JSON.stringify(statusMessage(startedBy, jobId, status, error))).catch(() => {})
    },
    subscribe(listener) {
      listeners.add(listener)
      if (!subscriber) {
        subscriber = publisher.duplicate() as RedisClientType
        subscriber.on('error', () => {})
        subscriber
          .connect()
          .then(() =>
            subscriber!.subscribe(CHANNEL, (text) => {
              let message: JobStatusMessage
              try {
                message = JSON.parse(text) as JobStatusMessage
              } catch {
                return
              }
              for (const l of listeners) l(message)
            }),
          )
          .catch(() => {})
      }
      return () => listeners.delete(listener)
    },
    async close() {
      listeners.clear()
      // a client still connecting has nothing to finish: destroy() ends its retries
      await Promise.allSettled([subscriber, publisher].map(async (client) => client && (client.isReady ? client.close() : client.destroy())))
    },
  }
}
