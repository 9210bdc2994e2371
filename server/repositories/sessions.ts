import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Role } from '../../contracts/users.ts'
import { generateSessionKey, hashSessionKey, SESSION_KEY_PATTERN } from '../auth/session-keys.ts'

export interface SessionLifetimes {
  /** a session unused for this long expires */
  idleSeconds: number
  /** a session expires this long after sign-in, however busy */
  absoluteSeconds: number
}

export interface ActiveSession {
  sessionId: number
  user: { id: number; username: string; role: Role }
  idleExpires: Date
  absoluteExpires: Date
}

// Refreshing last_seen on every request would turn every read into a write:
// it is refreshed once a minute at most, and at least four times per idle
// period, so a session used more often than its idle limit never expires
// (with SESSION_IDLE_SECONDS=60, a request every 15 s keeps it).
const TOUCH_AT_MOST_EVERY_MS = 60_000
const touchAfterMs = (lifetimes: SessionLifetimes) => Math.min(TOUCH_AT_MOST_EVERY_MS, (lifetimes.idleSeconds * 1000) / 4)

export type SessionRepository = ReturnType<typeof sessionRepository>

export function sessionRepository(db: Kysely<Database>, lifetimes: SessionLifetimes) {
  async function create(userId: number): Promise<{ key: string; session: ActiveSession }> {
    const key = generateSessionKey()
    const now = Date.now()
    const absoluteExpires = new Date(now + lifetimes.absoluteSeconds * 1000)
    const idleExpires = new Date(Math.min(now + lifetimes.idleSeconds * 1000, absoluteExpires.getTime()))
    const row = await db
      .insertInto('sessions')
      .values({ key_hash: hashSessionKey(key), user_id: userId, idle_expires: idleExpires, absolute_expires: absoluteExpires })
      .returning('id')
      .executeTakeFirstOrThrow()
    const user = await db.selectFrom('users').select(['id', 'username', 'role']).where('id', '=', userId).executeTakeFirstOrThrow()
    return { key, session: { sessionId: row.id, user, idleExpires, absoluteExpires } }
  }

  /** The live session for a key, or undefined when it is unknown, revoked or expired. Extends the idle expiry. */
  async function resolve(key: string): Promise<ActiveSession | undefined> {
    if (!SESSION_KEY_PATTERN.test(key)) return undefined
    const row = await db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.id', 's.last_seen', 's.idle_expires', 's.absolute_expires', 'u.id as user_id', 'u.username', 'u.role'])
      .where('s.key_hash', '=', hashSessionKey(key))
      .where('s.revoked', 'is', null)
      .where('s.idle_expires', '>', sql<Date>`now()`)
      .where('s.absolute_expires', '>', sql<Date>`now()`)
      .executeTakeFirst()
    if (!row) return undefined
    let idleExpires = new Date(row.idle_expires)
    const absoluteExpires = new Date(row.absolute_expires)
    if (Date.now() - new Date(row.last_seen).getTime() > touchAfterMs(lifetimes)) {
      idleExpires = new Date(Math.min(Date.now() + lifetimes.idleSeconds * 1000, absoluteExpires.getTime()))
      await db.updateTable('sessions').set({ last_seen: new Date(), idle_expires: idleExpires }).where('id', '=', row.id).execute()
    }
    return {
      sessionId: row.id,
      user: { id: row.user_id, username: row.username, role: row.role },
      idleExpires,
      absoluteExpires,
    }
  }

  async function revoke(sessionId: number): Promise<void> {
    await db.updateTable('sessions').set({ revoked: new Date() }).where('id', '=', sessionId).where('revoked', 'is', null).execute()
  }

  /**
   * Of these sessions, each with a live socket open and answering its pings,
   * the ids still valid (not revoked, not expired, user not deleted). Being
   * watched counts as use: the idle expiry of each moves on as a request's
   * would, up to the absolute expiry, so a wall display that only watches is
   * not signed out after the idle time.
   */
  async function stillValidAndWatched(ids: number[]): Promise<number[]> {
    if (ids.length === 0) return []
    const touchAfterSeconds = touchAfterMs(lifetimes) / 1000
    const { rows } = await sql<{ id: number }>`
      WITH valid AS (
        SELECT id, last_seen FROM sessions
        WHERE id = ANY (${ids}::integer[]) AND revoked IS NULL AND idle_expires > now() AND absolute_expires > now()
      ), touched AS (
        UPDATE sessions s
        SET last_seen = now(), idle_expires = least(now() + make_interval(secs => ${lifetimes.idleSeconds}), s.absolute_expires)
        FROM valid v
        WHERE s.id = v.id AND v.last_seen < now() - make_interval(secs => ${touchAfterSeconds})
      )
      SELECT id FROM valid`.execute(db)
    return rows.map((r) => r.id)
  }

  return { create, resolve, revoke, stillValidAndWatched }
}
