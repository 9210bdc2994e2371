import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest'
import { BUNDLE_PATHS, postgisExtension } from '../../../../db/drivers/postgis-bundle.ts'

// The embedded database on the slim PostGIS bundle answers every spatial
// function the app uses as it did on the full one; without a valid slim
// bundle it loads the full one.

const SQUARE = '{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}'
const BOWTIE = '{"type":"Polygon","coordinates":[[[0,0],[10,10],[10,0],[0,10],[0,0]]]}'

async function openCopy(dir: string, name: string, paths = BUNDLE_PATHS): Promise<PGlite> {
  const dataDir = join(dir, name)
  // the migrated template: CREATE EXTENSION postgis already ran, from the slim bundle
  await cp(inject('pgliteTemplate'), dataDir, { recursive: true })
  return PGlite.create(dataDir, { extensions: { postgis: await postgisExtension(paths) } })
}

const available = async (pg: PGlite) =>
  (await pg.query<{ name: string }>(`SELECT name FROM pg_available_extensions WHERE name LIKE 'postgis%' ORDER BY name`)).rows.map((r) => r.name)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postgis-bundle-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('PGlite on the slim PostGIS bundle', () => {
  let pg: PGlite
  beforeAll(async () => {
    pg = await openCopy(dir, 'slim')
  })
  afterAll(async () => {
    await pg?.close()
  })

  it('offers PostGIS without raster and topology', async () => {
    expect(await available(pg)).toEqual(['postgis'])
  })

  it('answers the spatial functions the app uses', async () => {
    const { rows } = await pg.query<Record<string, unknown>>(
      `WITH g AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS square, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326) AS bowtie)
       SELECT ST_Contains(square, ST_SetSRID(ST_MakePoint(5, 5), 4326)) AS contains,
              ST_Covers(square, ST_SetSRID(ST_MakePoint(0, 5), 4326)) AS covers,
              ST_Intersects(square, ST_MakeEnvelope(9, 9, 20, 20, 4326)) AS intersects,
              ST_IsValid(square) AS square_valid,
              ST_IsValid(bowtie) AS bowtie_valid,
              ST_IsValidReason(bowtie) AS reason,
              ST_IsValid(ST_MakeValid(bowtie)) AS made_valid,
              ST_AsGeoJSON(ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326)) AS point
       FROM g`,
      [SQUARE, BOWTIE],
    )
    expect(rows[0]).toEqual({
      contains: true,
      covers: true,
      intersects: true,
      square_valid: true,
      bowtie_valid: false,
      reason: 'Self-intersection[5 5]',
      made_valid: true,
      point: '{"type":"Point","coordinates":[2.35,48.85]}',
    })
  })

  it('builds and uses a GiST index on geometry', async () => {
    await pg.exec(`
      CREATE TABLE places (id serial PRIMARY KEY, location geometry(Point, 4326) NOT NULL);
      CREATE INDEX places_location ON places USING gist (location);
      INSERT INTO places (location) SELECT ST_SetSRID(ST_MakePoint(i % 100, i / 100), 4326) FROM generate_series(0, 9999) i;
      ANALYZE places;
      SET enable_seqscan = off;`)
    const window = `ST_MakeEnvelope(10, 10, 12, 12, 4326)`
    const plan = await pg.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM places WHERE location && ${window}`)
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('places_location')
    const { rows } = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM places WHERE ST_Intersects(location, ${window})`)
    expect(rows[0]!.n).toBe(9)
  })
})

describe('PGlite without a valid slim bundle', () => {
  it('loads the full bundle, raster and topology included', async () => {
    const missing = join(dir, 'no-cache')
    const pg = await openCopy(dir, 'full', { ...BUNDLE_PATHS, slim: join(missing, 'postgis-core.tar.gz'), manifest: join(missing, 'postgis-core.json') })
    try {
      expect(await available(pg)).toEqual(expect.arrayContaining(['postgis', 'postgis_raster', 'postgis_topology']))
      const { rows } = await pg.query<{ inside: boolean }>(`SELECT ST_Contains(ST_GeomFromGeoJSON($1), ST_SetSRID(ST_MakePoint(5, 5), 4326)) AS inside`, [SQUARE])
      expect(rows[0]!.inside).toBe(true)
    } finally {
      await pg.close()
    }
  })
})
