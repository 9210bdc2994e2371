import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { generateSessionKey, hashSessionKey } from '../auth/session-keys.ts'

// The one-click acknowledge link in an alert mail. Its key (256 random bits,
// only the hash stored) is the credential: it acknowledges one alert, as the
// one recipient it was mailed to, once, before it expires. Opening the link
// acknowledges nothing (mail scanners fetch links); the page it shows posts
// the key back, and only that POST uses it.

export type LinkLookup =
  | { kind: 'usable'; alertId: number; userId: number; username: string }
  | { kind: 'used' | 'expired' | 'unknown' }

export function acknowledgeLinkRepository(db: Kysely<Database>) {
  return {
    /** One link per (alert, recipient), all in one statement; the keys in the same order. */
    async create(links: { alertId: number; userId: number }[], ttlHours: number): Promise<string[]> {
      if (links.length === 0) return []
      const keys = links.map(() => generateSessionKey())
      await db
        .insertInto('acknowledge_links')
        .values(links.map((link, i) => ({
          key_hash: hashSessionKey(keys[i]!),
          alert_id: link.alertId,
          user_id: link.userId,
          expires: sql<Date>`now() + make_interval(hours => ${ttlHours})`,
        })))
        .execute()
      return keys
    },

    async look(key: string): Promise<LinkLookup> {
      const row = await db
        .selectFrom('acknowledge_links as l')
        .innerJoin('users as u', 'u.id', 'l.user_id')
        .select(['l.alert_id', 'l.user_id', 'u.username', 'l.used', sql<boolean>`l.expires < now()`.as('expired')])
        .where('l.key_hash', '=', hashSessionKey(key))
        .executeTakeFirst()
      if (!row) return { kind: 'unknown' }
      if (row.used) return { kind: 'used' }
      if (row.expired) return { kind: 'expired' }
      return { kind: 'usable', alertId: row.alert_id, userId: row.user_id, username: row.username }
    },

    /** Marks the link used; false if it was used (or expired) meanwhile: of two POSTs at once, one wins. */
    async use(key: string): Promise<boolean> {
      const used = await db
        .updateTable('acknowledge_links')
        .set({ used: sql<Date>`now()` })
        .where('key_hash', '=', hashSessionKey(key))
        .where('used', 'is', null)
        .where('expires', '>', sql<Date>`now()`)
        .executeTakeFirst()
      return used.numUpdatedRows === 1n
    },
  }
}

export type AcknowledgeLinkRepository = ReturnType<typeof acknowledgeLinkRepository>
