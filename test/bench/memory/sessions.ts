import { CompiledQuery } from 'kysely'
import { openDatabase } from '../../../db/connect.ts'
import { hashPassword } from '../../../server/auth/passwords.ts'
import { loadConfig } from '../../../server/config.ts'
import { sessionRepository } from '../../../server/repositories/sessions.ts'

/**
 * `count` viewers, each signed in once, through the app's own session
 * repository (random key, only its hash stored, the default lifetimes): what
 * `POST /api/sessions` does after the password check. Signing in over HTTP
 * would cost a scrypt verification per session, minutes for thousands, and
 * measure nothing the sockets hold. The users share one password hash, made
 * by the app's own hashPassword. The database must be migrated (the server
 * does that on start). Returns the session keys.
 */
export async function viewerSessions(databaseUrl: string, count: number, label: string): Promise<string[]> {
  const handle = await openDatabase({ databaseUrl, dataDir: 'unused', poolSize: 4 })
  try {
    const hash = await hashPassword(`${label}-password`)
    const { rows } = await handle.db.executeQuery<{ id: number }>(CompiledQuery.raw(
      `INSERT INTO users (username, password_hash, role)
       SELECT $1 || '-' || n, $2, 'viewer' FROM generate_series(1, $3::integer) AS n
       ORDER BY n
       RETURNING id`,
      [label, hash, count],
    ))
    const sessions = sessionRepository(handle.db, loadConfig({}).session)
    const keys: string[] = []
    // a few at a time, in order: socket i uses key ⌊i / per⌋, and the order does not matter beyond being fixed
    for (let i = 0; i < rows.length; i += 4) {
      const made = await Promise.all(rows.slice(i, i + 4).map((row) => sessions.create(row.id)))
      keys.push(...made.map((m) => m.key))
    }
    return keys
  } finally {
    await handle.close()
  }
}
