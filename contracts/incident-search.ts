import { Type } from 'typebox'

// The text search over incidents (`q` on GET /api/incidents and /rows): the
// incidents whose name or description contains the text, whatever its case,
// anywhere (part of a word too: "fire" finds "Wildfire"). `%` and `_` are
// plain characters in it, not wildcards.

/** Longer than any name (150) is useless; a bound keeps a pattern cheap to match. */
export const MAX_SEARCH_LENGTH = 100

export const SearchText = Type.String({
  minLength: 1,
  maxLength: MAX_SEARCH_LENGTH,
  description: `only incidents whose name or description contains this text (any case, part of a word too; % and _ are literal), 1 to ${MAX_SEARCH_LENGTH} characters`,
  examples: ['fire'],
})

/**
 * The server's rule, for the dashboard to apply to an incident saved after
 * it asked the server (a live change): contains, ignoring case.
 */
export function matchesSearch(properties: { name: string; description: string }, text: string): boolean {
  const wanted = text.toLowerCase()
  return properties.name.toLowerCase().includes(wanted) || properties.description.toLowerCase().includes(wanted)
}
