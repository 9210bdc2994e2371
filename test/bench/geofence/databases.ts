import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { TEST_DATABASE_URL, databaseUrl, dropDatabase, withClient } from '../../helpers/postgres.ts'

export { withClient }

/**
 * A copy of a loaded database (CREATE DATABASE … TEMPLATE: a file copy, far
 * faster than loading the counties again). The bare-SQL subjects get copies
 * of their own so that the server's outbox relay never sees (and spends CPU
 * publishing) the rows they write, and so one copy can lose its GiST index
 * without touching the others. The template must have no open connections.
 */
export async function copyDatabase(template: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `bench_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`)
  } finally {
    await admin.end()
  }
  return { name, url: databaseUrl(name), drop: () => dropDatabase(name) }
}

