import { copyFile, mkdtemp, readFile, rm, truncate, utimes } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUNDLE_PATHS, validSlimBundle, type BundlePaths } from '../../../db/drivers/postgis-bundle.ts'
import { buildSlimBundle, slimTar } from '../../../db/slim-postgis-bundle.ts'

// The slim PostGIS bundle: the installed one without raster and topology,
// used only while it matches the installed package.

/** name → the entry's header and data blocks, as they lie in the archive */
function entries(tar: Buffer): Map<string, Buffer> {
  const found = new Map<string, Buffer>()
  let offset = 0
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const name = tar.subarray(offset, offset + 100).toString('utf8').replace(/\0.*$/s, '')
    const size = parseInt(tar.subarray(offset + 124, offset + 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8)
    const end = offset + 512 + Math.ceil(size / 512) * 512
    found.set(name, tar.subarray(offset, end))
    offset = end
  }
  return found
}

describe('slimTar on the installed PostGIS bundle', () => {
  const full = gunzipSync(readFileSync(BUNDLE_PATHS.full))
  const { tar, dropped } = slimTar(full)
  const before = entries(full)
  const after = entries(tar)

  it('drops the raster and topology libraries and keeps the PostGIS core one', () => {
    expect(dropped).toEqual(expect.arrayContaining(['lib/postgresql/postgis_raster-3.so', 'lib/postgresql/postgis_topology-3.so']))
    expect([...after.keys()].filter((name) => name.endsWith('.so'))).toEqual(['lib/postgresql/postgis-3.so'])
  })

  it('keeps what CREATE EXTENSION postgis and the projections need', () => {
    const names = [...after.keys()]
    expect(names).toContain('share/postgresql/extension/postgis.control')
    expect(names.some((name) => /^share\/postgresql\/extension\/postgis--[\d.]+\.sql$/.test(name))).toBe(true)
    expect(names).toContain('share/proj/proj.db')
  })

  it('drops nothing but raster, topology and the tiger geocoder, and copies the rest byte for byte', () => {
    for (const name of dropped) expect(name).toMatch(/raster|rtpostgis|topology|tiger_geocoder/)
    expect(after.size + dropped.length).toBe(before.size)
    for (const [name, blocks] of after) expect(blocks.equals(before.get(name)!), name).toBe(true)
    expect(tar.subarray(-1024).every((byte) => byte === 0)).toBe(true)
  })
})

describe('validSlimBundle', () => {
  let dir: string
  let paths: BundlePaths

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slim-postgis-'))
    paths = { full: join(dir, 'postgis.tar.gz'), slim: join(dir, 'cache', 'postgis-core.tar.gz'), manifest: join(dir, 'cache', 'postgis-core.json') }
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function freshBuild() {
    await copyFile(BUNDLE_PATHS.full, paths.full)
    buildSlimBundle(paths)
  }

  it('answers the slim bundle when it was built from the installed one', async () => {
    await freshBuild()
    expect(validSlimBundle(paths)).toBe(paths.slim)
    const manifest = JSON.parse(await readFile(paths.manifest, 'utf8')) as { dropped: string[] }
    expect(manifest.dropped).toContain('lib/postgresql/postgis_raster-3.so')
  })

  it('falls back to the full bundle once the package is reinstalled or upgraded', async () => {
    await freshBuild()
    await utimes(paths.full, new Date(), new Date(Date.now() - 60_000))
    expect(validSlimBundle(paths)).toBeUndefined()
  })

  it('falls back to the full bundle when the slim one is incomplete', async () => {
    await freshBuild()
    await truncate(paths.slim, 1000)
    expect(validSlimBundle(paths)).toBeUndefined()
  })

  it('falls back to the full bundle when there is no manifest', async () => {
    await freshBuild()
    await rm(paths.manifest)
    expect(validSlimBundle(paths)).toBeUndefined()
  })

  it('is what npm install left in node_modules/.cache', () => {
    expect(validSlimBundle()).toBe(BUNDLE_PATHS.slim)
  })
})
