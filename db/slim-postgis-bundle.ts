import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { BUNDLE_PATHS, describeSource, type BundlePaths, type SlimManifest } from './drivers/postgis-bundle.ts'

// Derives the slim PostGIS bundle from the installed pglite-postgis: the same
// tar without the extensions this project never creates (raster, topology,
// the tiger geocoder, and SFCGAL or the address standardizer should a release
// add them). Each dropped `.so` is WebAssembly that PGlite would otherwise
// compile on every start. Run by `npm install` (postinstall); it never fails
// the install, since the embedded database falls back to the full bundle.
//
//   tsx db/slim-postgis-bundle.ts

/** Files of the extensions we drop: their libraries, control files, install and upgrade scripts. */
const DROPPED = /(postgis_raster|rtpostgis|postgis_topology|topology|postgis_tiger_geocoder|postgis_sfcgal|sfcgal|address_standardizer)[^/]*$/

const BLOCK = 512

/** Copies the kept entries' header and data blocks verbatim (a tar is a list of them), so PGlite reads them exactly as before. */
export function slimTar(tar: Buffer): { tar: Buffer; dropped: string[] } {
  const kept: Buffer[] = []
  const dropped: string[] = []
  let offset = 0
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK)
    if (header.every((byte) => byte === 0)) break // end of archive
    const type = String.fromCharCode(header[156]!)
    // long names (GNU 'L', pax 'x'/'g') describe the entry after them: refuse rather than separate such a pair
    if (!['0', '\0', '2', '5'].includes(type)) throw new Error(`unexpected tar entry type ${JSON.stringify(type)} at byte ${offset}`)
    const name = field(header, 0, 100)
    const size = parseInt(field(header, 124, 12).trim() || '0', 8)
    if (!Number.isFinite(size)) throw new Error(`bad size in the tar header of ${name}`)
    const end = offset + BLOCK + Math.ceil(size / BLOCK) * BLOCK
    if (end > tar.length) throw new Error(`truncated tar at ${name}`)
    if (DROPPED.test(name)) dropped.push(name)
    else kept.push(tar.subarray(offset, end))
    offset = end
  }
  kept.push(Buffer.alloc(BLOCK * 2)) // end-of-archive marker
  return { tar: Buffer.concat(kept), dropped }
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length)
  const nul = raw.indexOf(0)
  return raw.subarray(0, nul === -1 ? length : nul).toString('utf8')
}

export function buildSlimBundle(paths: BundlePaths = BUNDLE_PATHS): SlimManifest {
  const source = describeSource(paths.full)
  const { tar, dropped } = slimTar(gunzipSync(readFileSync(paths.full)))
  if (!dropped.some((name) => name.endsWith('.so'))) throw new Error('no library to drop: the bundle layout has changed')
  if (!tar.includes('lib/postgresql/postgis-3.so')) throw new Error('postgis-3.so is missing from the bundle')
  // level 1: PGlite gunzips it on every start either way, and the install stays quick
  const gzipped = gzipSync(tar, { level: 1 })
  mkdirSync(dirname(paths.slim), { recursive: true })
  // the manifest is what marks the bundle valid: removed first, written last, so an interrupted build leaves none
  rmSync(paths.manifest, { force: true })
  writeFileSync(`${paths.slim}.tmp`, gzipped)
  renameSync(`${paths.slim}.tmp`, paths.slim)
  const manifest: SlimManifest = { source, bundle: { size: gzipped.length }, dropped }
  writeFileSync(`${paths.manifest}.tmp`, JSON.stringify(manifest, null, 2))
  renameSync(`${paths.manifest}.tmp`, paths.manifest)
  return manifest
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const manifest = buildSlimBundle()
    const libraries = manifest.dropped.filter((name) => name.endsWith('.so')).map((name) => name.split('/').pop())
    console.log(`slim PostGIS bundle (without ${libraries.join(', ')}): ${BUNDLE_PATHS.slim}`)
  } catch (error) {
    rmSync(BUNDLE_PATHS.manifest, { force: true })
    console.warn(`slim PostGIS bundle not built, the embedded database will load the full one: ${(error as Error).message}`)
  }
}
