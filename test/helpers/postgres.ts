import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The server the integration tests use; each test file creates and drops its own database on it. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** One short-lived connection for setup and inspection statements. */
export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

export async function assertPostgisAvailable(): Promise<void> {
  const name = `probe_${randomBytes(4).toString('hex')}`
  try {
    await withClient(TEST_DATABASE_URL, (c) => c.query(`CREATE DATABASE ${name}`))
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${redact(TEST_DATABASE_URL)}: ${(error as Error).message}. Start it (see .ci/run) or set TEST_DATABASE_URL.`)
  }
  try {
    const client = new pg.Client({ connectionString: databaseUrl(name) })
    await client.connect()
    try {
      await client.query('CREATE EXTENSION postgis')
    } catch (error) {
      throw new Error(`PostGIS is not installed for the PostgreSQL at ${redact(TEST_DATABASE_URL)}: ${(error as Error).message}. Install postgresql-15-postgis-3 (see .ci/run).`)
    } finally {
      await client.end()
    }
  } finally {
    await dropDatabase(name)
  }
}

export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `it_${process.pid}_${randomBytes(4).toString('hex')}`
  await withClient(TEST_DATABASE_URL, (c) => c.query(`CREATE DATABASE ${name}`))
  return { name, url: databaseUrl(name), drop: () => dropDatabase(name) }
}

export async function dropDatabase(name: string): Promise<void> {
  await withClient(TEST_DATABASE_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}

const redact = (url: string) => url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@')
