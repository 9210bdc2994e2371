import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import { findProjectRoot, PROJECT_ROOT } from '../../../db/project-root.ts'
import { buildServerBundle, bundlePaths, DEFAULT_OUTDIR, readRecord, ROOT, staleReason } from '../../../server/bundle.mjs'
import { killAllServers, launchServer, START_TIMEOUT, type ServerProcess } from '../../helpers/server-process.ts'

// What `npm start` runs: `node server/start.mjs`, which runs the server
// bundle (esbuild, packages external) with plain node, building it first when
// it is missing or older than a source. Real builds and real server
// processes; each bundle goes to a folder of its own under the project's
// node_modules/.cache (SERVER_BUNDLE_DIR), where its imports find the
// packages, so the one `npm start` uses is left alone.

const BUILD_LINE = /^building the server bundle: (.*)$/gm
const TEST_BUNDLES = join(ROOT, 'node_modules', '.cache', 'incident-tracker', 'test-bundles')

let scratch: string
beforeAll(async () => {
  await mkdir(TEST_BUNDLES, { recursive: true })
  scratch = await mkdtemp(join(TEST_BUNDLES, 'run-'))
})
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe('the project root', () => {
  it('is the folder of our package.json, from the sources and from the bundle folder alike', () => {
    expect(PROJECT_ROOT).toBe(ROOT)
    expect(findProjectRoot(pathToFileURL(join(DEFAULT_OUTDIR, 'main.mjs')))).toBe(PROJECT_ROOT)
    expect(findProjectRoot(pathToFileURL(join(ROOT, 'server', 'routes', 'dashboard.ts')))).toBe(PROJECT_ROOT)
  })
})

describe('building the server bundle, and when it is stale', () => {
  let paths: ReturnType<typeof bundlePaths>

  beforeAll(async () => {
    paths = bundlePaths(await mkdtemp(join(scratch, 'build-')))
  })

  const rewriteRecord = (change: (record: NonNullable<ReturnType<typeof readRecord>>) => void) => {
    const record = readRecord(paths)!
    change(record)
    writeFileSync(paths.record, JSON.stringify(record))
  }

  it('is stale where there is none', () => {
    expect(staleReason(paths)).toBe('there is none yet')
  })

  it('builds main.mjs from our sources, every package left an import, and is then up to date', async () => {
    const record = await buildServerBundle(paths)
    expect(record.inputs).toEqual(expect.arrayContaining(['server/main.ts', 'server/app.ts', 'db/migrate.ts', 'db/project-root.ts']))
    expect(record.inputs.filter((input) => input.startsWith('node_modules/'))).toEqual([])
    expect(record.outputs.sort()).toEqual(['main.mjs', 'main.mjs.map'])
    for (const output of record.outputs) expect(existsSync(join(paths.outdir, output)), output).toBe(true)
    const code = readFileSync(paths.main, 'utf8')
    const imports = [...code.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!)
    expect(imports).toContain('fastify')
    expect(imports).toContain('@electric-sql/pglite')
    // nothing of ours is left to load as TypeScript
    expect(imports.filter((specifier) => specifier.endsWith('.ts'))).toEqual([])
    expect(code).toMatch(/\/\/# sourceMappingURL=main\.mjs\.map\s*$/)
    expect(staleReason(paths)).toBeUndefined()
  })

  it('is stale once a source is newer than the build', () => {
    const first = readRecord(paths)!.inputs[0]!
    const saved = readRecord(paths)!
    // as if the build had started well before the source was last saved
    rewriteRecord((record) => (record.startedAt = statSync(join(ROOT, first)).mtimeMs - 10_000))
    expect(staleReason(paths)).toBe(`${first} changed`)
    writeFileSync(paths.record, JSON.stringify(saved))
    expect(staleReason(paths)).toBeUndefined()
  })

  it('is stale when a source it was built from is gone, or an output is missing', () => {
    const saved = readRecord(paths)!
    rewriteRecord((record) => record.inputs.push('server/no-such-file.ts'))
    expect(staleReason(paths)).toBe('server/no-such-file.ts is gone')
    rewriteRecord((record) => {
      record.inputs = saved.inputs
      record.outputs.push('main.mjs.gone')
    })
    expect(staleReason(paths)).toBe('main.mjs.gone is missing')
    writeFileSync(paths.record, JSON.stringify(saved))
  })
})

/** `node server/start.mjs` (npm start) with only this configuration, in its own process group. */
const launch = (env: Record<string, string>) => launchServer({ LOG_LEVEL: 'info', ...env }, { via: 'npm start' })

/** the signal, and a prompt exit with code 0 (the forced exit after 15 s would be code 1) */
async function expectGracefulStop(server: ServerProcess, signal: NodeJS.Signals) {
  const started = Date.now()
  const exit = await server.stop(signal, 20_000)
  expect(exit, server.describe()).toEqual({ code: 0, signal: null })
  expect(Date.now() - started).toBeLessThan(10_000)
}

const buildLines = (server: ServerProcess) => [...server.stderr().matchAll(BUILD_LINE)].map((m) => m[1])

describe('node server/start.mjs (npm start) on the embedded default', () => {
  let dataDir: string
  let bundleDir: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'server-bundle-data-'))
    bundleDir = await mkdtemp(join(scratch, 'launcher-'))
  })
  afterEach(async () => {
    await killAllServers()
  })
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('builds the missing bundle, starts on a fresh folder, serves the dashboard, and stops on SIGTERM with 0', async () => {
    const server = await launch({ DATA_DIR: dataDir, SERVER_BUNDLE_DIR: bundleDir })
    const health = await server.healthy()
    expect(health).toMatchObject({ status: 'ok', database: { ok: true, kind: 'pglite' } })
    expect(buildLines(server), server.describe()).toEqual(['there is none yet'])
    expect(existsSync(join(bundleDir, 'main.mjs'))).toBe(true)

    // web/dist found from the bundle's folder: the built page, not the "not built" problem
    const page = await fetch(`${server.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toBe(readFileSync(join(ROOT, 'web', 'dist', 'index.html'), 'utf8'))

    // a second server on the same folder: refused, in a sentence, with no stack trace and no rebuild
    const second = await launch({ DATA_DIR: dataDir, SERVER_BUNDLE_DIR: bundleDir })
    const refused = await second.waitForExit(60_000)
    expect(refused.code, second.describe()).toBe(1)
    expect(second.stderr()).toMatch(/in use/)
    expect(second.stderr()).not.toMatch(/^\s+at /m)
    expect(buildLines(second)).toEqual([])

    await expectGracefulStop(server, 'SIGTERM')
    expect(existsSync(join(dataDir, 'owner.lock')), 'owner.lock left behind').toBe(false)
  }, START_TIMEOUT + 90_000)

  it('reuses the bundle when nothing changed, and stops on SIGINT with 0', async () => {
    const server = await launch({ DATA_DIR: dataDir, SERVER_BUNDLE_DIR: bundleDir })
    expect((await server.healthy()).database.kind).toBe('pglite')
    expect(buildLines(server), server.describe()).toEqual([])
    expect(server.stdout()).not.toMatch(/created user "admin"/)
    await expectGracefulStop(server, 'SIGINT')
  }, START_TIMEOUT + 30_000)

  it('rebuilds when a source is newer than the bundle, then runs the new build', async () => {
    const paths = bundlePaths(bundleDir)
    const record = readRecord(paths)!
    // as if every source had been saved after the build
    writeFileSync(paths.record, JSON.stringify({ ...record, startedAt: 0 }))
    // a bad PORT: the rebuilt server reads its configuration, says what is wrong and exits 2, without opening anything
    const server = await launch({ DATA_DIR: dataDir, SERVER_BUNDLE_DIR: bundleDir, PORT: 'not-a-port' })
    const exit = await server.waitForExit(30_000)
    expect(buildLines(server), server.describe()).toEqual([`${record.inputs[0]} changed`])
    expect(exit.code, server.describe()).toBe(2)
    expect(server.stderr()).toMatch(/PORT/)
    expect(server.stderr()).not.toMatch(/^\s+at /m)
    expect(readRecord(paths)!.startedAt).toBeGreaterThan(0)
    expect(staleReason(paths)).toBeUndefined()
  }, 40_000)
})

describe('stack traces from the bundle', () => {
  it('point at the .ts source for frames in the bundle, and leave the others alone', async () => {
    const dir = await mkdtemp(join(scratch, 'trace-'))
    const source = join(dir, 'thrower.ts')
    writeFileSync(source, ['export function fail(reason: string): never {', '  const message: string = `failed: ${reason}`', '  throw new Error(message)', '}', ''].join('\n'))
    const out = join(dir, 'out')
    await build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', outdir: out, outExtension: { '.js': '.mjs' }, sourcemap: 'linked', sourcesContent: false, logLevel: 'silent' })
    const script = [
      `import { mapBundleStackTraces } from ${JSON.stringify(pathToFileURL(join(ROOT, 'server', 'stack-traces.mjs')).href)}`,
      `mapBundleStackTraces(${JSON.stringify(out)})`,
      `const { fail } = await import(${JSON.stringify(pathToFileURL(join(out, 'thrower.mjs')).href)})`,
      `try { fail('on purpose') } catch (error) { console.log(error.stack) }`,
    ].join('\n')
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const code = await new Promise((resolve) => child.once('close', resolve))
    expect(code, stderr).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toBe('Error: failed: on purpose')
    expect(lines[1]).toBe(`    at fail (${source}:3:9)`)
    // the caller (the -e script) has no map: as V8 wrote it
    expect(lines[2]).toMatch(/^ {4}at .*\[eval1\]|^ {4}at file:/)
    expect(stdout).not.toContain('thrower.mjs')
  })
})
