/**
 * Ways a client can write one path that a router, a proxy or a URL parser
 * might read as the same path, or that a check on the URL's text might read
 * differently from the router: what an attacker tries against an access rule.
 * `/api/users` → `/%61pi/users`, `/api//users`, `/api/./users`, `/API/users`,
 * `/api;x=1/users`, `/api%2Fusers`, …
 */
export function pathSpellings(path: string): string[] {
  const segments = path.split('/').slice(1)
  const join = (parts: string[]) => `/${parts.join('/')}`
  const each = (change: (segment: string, index: number) => string) =>
    segments.map((_, i) => join(segments.map((s, j) => (i === j ? change(s, j) : s))))
  const spellings = new Set<string>([path])

  // percent-encoded letters: each letter of each segment alone, then whole segments, then the whole path
  segments.forEach((segment, i) => {
    for (let k = 0; k < segment.length; k++) {
      if (!/[A-Za-z0-9_.-]/.test(segment[k]!)) continue
      spellings.add(join(segments.map((s, j) => (i === j ? s.slice(0, k) + encode(s[k]!, k % 2 === 0) + s.slice(k + 1) : s))))
    }
  })
  for (const spelling of each((s) => [...s].map((c) => encode(c, true)).join(''))) spellings.add(spelling)
  spellings.add(join(segments.map((s) => [...s].map((c) => encode(c, false)).join(''))))
  // double encoding: %2561 is "%61" once decoded, "a" only if something decodes twice
  for (const spelling of each((s) => (s ? `%25${hex(s[0]!, true)}${s.slice(1)}` : s))) spellings.add(spelling)

  // doubled slashes, before, between and after the segments
  spellings.add(`/${path}`)
  for (const spelling of each((s) => `/${s}`)) spellings.add(spelling)
  spellings.add(`${path}/`)
  spellings.add(`${path}//`)

  // dot segments, plain and encoded
  for (const spelling of each((s) => `./${s}`)) spellings.add(spelling)
  for (const spelling of each((s) => `x/../${s}`)) spellings.add(spelling)
  for (const spelling of each((s) => `%2e/${s}`)) spellings.add(spelling)
  for (const spelling of each((s) => `x/%2e%2e/${s}`)) spellings.add(spelling)
  spellings.add(`${path}/.`)
  spellings.add(`${path}/x/..`)

  // case
  spellings.add(path.toUpperCase())
  for (const spelling of each((s) => s.charAt(0).toUpperCase() + s.slice(1))) spellings.add(spelling)

  // matrix (;) parameters on each segment
  for (const spelling of each((s) => `${s};x=1`)) spellings.add(spelling)
  spellings.add(`${path};jsessionid=1`)

  // encoded and back slashes in place of each separator
  for (let i = 1; i < segments.length; i++) {
    for (const slash of ['%2F', '%2f', '%5C', '\\']) {
      spellings.add(`/${segments.slice(0, i).join('/')}${slash}${segments.slice(i).join('/')}`)
    }
  }

  // trailing bytes a parser might stop at
  for (const tail of ['%00', '%20', '%09', '?', '#', '?x=1', '%3F', '%23', '.', '..', '~']) spellings.add(`${path}${tail}`)
  return [...spellings]
}

const hex = (c: string, upper: boolean) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0')
  return upper ? h.toUpperCase() : h
}
const encode = (c: string, upper: boolean) => `%${hex(c, upper)}`
