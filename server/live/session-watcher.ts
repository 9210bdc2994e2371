import type { FastifyInstance } from 'fastify'
import { CLOSE_CODES } from '../../contracts/live.ts'
import type { FanOut } from './fan-out.ts'

/** sessions asked about per statement: each id is a statement parameter */
const IDS_PER_QUERY = 5000

/**
 * Closes the sockets of sessions that have ended, and keeps the sessions of
 * open sockets in use (a socket that stops answering pings is closed by its
 * route, so every member here answers). A sign-out or user change
 * on this instance closes them at once; one made elsewhere (another
 * instance, `npm run user`) or an expiry is found by asking the database
 * every `checkMs`. Returns the stop that ends both.
 */
export function watchSessions(app: FastifyInstance, fanOut: FanOut, checkMs: number): () => void {
  const offRevoked = app.sessionEvents.onRevoked(({ sessionIds, userId }) => {
    const ids = new Set(sessionIds)
    fanOut.closeWhere((m) => ids.has(m.sessionId) || m.userId === userId, CLOSE_CODES.SESSION_ENDED, 'session ended')
  })

  async function closeEndedSessions() {
    const ids = [...new Set([...fanOut.members].map((m) => m.sessionId))]
    if (ids.length === 0) return
    try {
      const live = new Set<number>()
      for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
        const rows = await app.sessions.stillValidAndWatched(ids.slice(i, i + IDS_PER_QUERY))
        rows.forEach((id) => live.add(id))
      }
      // only the sessions asked about: a socket that joined while the query was out is the next check's
      const asked = new Set(ids)
      fanOut.closeWhere((m) => asked.has(m.sessionId) && !live.has(m.sessionId), CLOSE_CODES.SESSION_ENDED, 'session ended')
    } catch (error) {
      app.log.warn({ err: error }, 'could not check the sessions of open sockets')
    }
  }
  const check = setInterval(() => void closeEndedSessions(), checkMs)
  check.unref()

  return () => {
    clearInterval(check)
    offRevoked()
  }
}
