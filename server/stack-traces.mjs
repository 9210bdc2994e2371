// @ts-check
import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// Stack traces that point at the .ts sources for the frames in the server
// bundle, and only those.
//
// Node's own source-map support (--enable-source-maps,
// process.setSourceMapsEnabled) reads and parses the map of every module that
// names one as it loads, packages included: for this server hundreds of
// maps, megabytes of JSON (the Redis client, PGlite, glob), a noticeable part
// of a start. This reads a map only when a stack trace is formatted through
// one of our bundle's files, and every other frame stays exactly as V8 wrote
// it.

/** @typedef {{ originalSource?: string, originalLine?: number, originalColumn?: number }} Entry */

/**
 * Installs an `Error.prepareStackTrace` that formats stacks as V8 does, with
 * the frames of files under `dir` mapped through their linked `.map` files.
 * The launcher calls it once, before the bundle loads.
 *
 * @param {string} dir the bundle's folder
 */
export function mapBundleStackTraces(dir) {
  const prefix = dir.endsWith(sep) ? dir : dir + sep
  /** @type {Map<string, SourceMap | null>} */
  const maps = new Map()

  /** @param {string} file */
  function mapOf(file) {
    let map = maps.get(file)
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')))
      } catch {
        map = null // no map, or not one we can read: the frame stays as it is
      }
      maps.set(file, map)
    }
    return map
  }

  /** @param {NodeJS.CallSite} frame */
  function formatFrame(frame) {
    const text = String(frame)
    const url = frame.getFileName()
    const line = frame.getLineNumber()
    const column = frame.getColumnNumber()
    if (!url || line === null || column === null) return text
    let file
    try {
      file = url.startsWith('file:') ? fileURLToPath(url) : url
    } catch {
      return text
    }
    if (!file.startsWith(prefix)) return text
    const map = mapOf(file)
    /** @type {Entry} */
    const entry = map ? map.findEntry(line - 1, column - 1) : {}
    if (!entry.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) return text
    const source = resolve(dirname(file), entry.originalSource)
    return text.replace(`${url}:${line}:${column}`, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`)
  }

  Error.prepareStackTrace = (error, frames) => {
    let header
    try {
      header = Error.prototype.toString.call(error)
    } catch {
      header = '<error>'
    }
    return frames.length ? `${header}\n    at ${frames.map(formatFrame).join('\n    at ')}` : header
  }
}
