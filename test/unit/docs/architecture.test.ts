import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../../db/project-root.ts'

const read = (file: string) => readFileSync(join(PROJECT_ROOT, file), 'utf8')

/** Backticked repository paths (`server/live/fan-out.ts`) in a piece of Markdown. */
const pathsIn = (markdown: string) =>
  [...markdown.matchAll(/`((?:contracts|db|server|web|test|examples|docs)\/[\w./-]+\.(?:ts|mjs|md))`/g)].map((m) => m[1]!)

describe('docs/architecture.md', () => {
  const doc = read('docs/architecture.md')
  /** each "## The path of …" section's numbered steps */
  const walks = new Map(doc.split(/^## /m).filter((section) => section.startsWith('The path of')).map((section) => [
    section.split('\n')[0]!,
    section.split('\n').filter((line) => /^\d+\. /.test(line)),
  ]))

  it('walks each path in steps numbered from 1, each naming at least one file', () => {
    expect([...walks.keys()]).toEqual(['The path of one incident', 'The path of one alert mail'])
    for (const steps of walks.values()) {
      expect(steps.map((line) => Number(line.split('.')[0]))).toEqual(steps.map((_, i) => i + 1))
      for (const step of steps) expect(pathsIn(step), step).not.toEqual([])
    }
  })

  it('walks one incident from the form to the marker', () => {
    const steps = walks.get('The path of one incident')!
    expect(steps.length).toBeGreaterThanOrEqual(8)
    expect(pathsIn(steps[0]!)[0]).toMatch(/^web\//)
    expect(pathsIn(steps.at(-1)!)).toContain('web/src/map/incident-layer.ts')
  })

  it('walks one alert mail from the save to the acknowledge link', () => {
    const steps = walks.get('The path of one alert mail')!
    expect(pathsIn(steps[0]!)).toContain('server/repositories/incident-save.ts')
    expect(steps.some((step) => pathsIn(step).includes('server/jobs/deliver.ts'))).toBe(true)
  })

  it('names only files that exist where it says', () => {
    const missing = pathsIn(doc).filter((path) => !existsSync(join(PROJECT_ROOT, path)))
    expect(missing).toEqual([])
  })
})

describe('README.md', () => {
  const readme = read('README.md')

  it('links only to documents that exist', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|examples)\/[^)#]+)\)/g)].map((m) => m[1]!)
    expect(links).toContain('docs/architecture.md')
    expect(links.filter((link) => !existsSync(join(PROJECT_ROOT, link)))).toEqual([])
  })

  it('names only files that exist', () => {
    expect(pathsIn(readme).filter((path) => !existsSync(join(PROJECT_ROOT, path)))).toEqual([])
  })

  it('stays short enough to read through (at most 150 lines)', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(150)
  })
})
