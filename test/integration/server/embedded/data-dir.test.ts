import { chmod, cp, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { openEmbeddedDatabase } from '../../../../server/embedded/data-dir.ts'

// The embedded data folder holds the users' password hashes. PGlite writes
// its files readable by everyone (0644 under the usual umask), so the folder
// itself must keep other local users out: 0700.

const modeOf = async (path: string) => (await stat(path)).mode & 0o777

describe('the embedded data folder', () => {
  let root: string

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'data-dir-test-'))
  })
  afterAll(() => rm(root, { recursive: true, force: true }))

  it('is created 0700 on a fresh start, with the folders leading to it', async () => {
    const dataDir = join(root, 'fresh', 'data')
    const warnings: string[] = []
    const embedded = await openEmbeddedDatabase(dataDir, 'server', (message) => warnings.push(message))
    try {
      expect((await modeOf(dataDir)).toString(8)).toBe('700')
      expect((await modeOf(join(root, 'fresh'))).toString(8)).toBe('700')
      expect(warnings).toEqual([])
    } finally {
      await embedded.handle.close()
      await embedded.release()
    }
  }, 120_000)

  it('is made 0700 when it already exists open to others, and the operator is told', async () => {
    const dataDir = join(root, 'existing')
    await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
    await chmod(dataDir, 0o755)
    const warnings: string[] = []
    const embedded = await openEmbeddedDatabase(dataDir, 'server', (message) => warnings.push(message))
    try {
      expect((await modeOf(dataDir)).toString(8)).toBe('700')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(dataDir)
      expect(warnings[0]).toContain('mode 0755')
      expect(warnings[0]).toContain('password hashes')
    } finally {
      await embedded.handle.close()
      await embedded.release()
    }
  }, 120_000)
})
