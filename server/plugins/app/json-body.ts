import fp from 'fastify-plugin'
import { findTooDeep, MAX_JSON_DEPTH } from '../../http/json-depth.ts'
import { InvalidFieldError } from '../../errors.ts'

/**
 * JSON bodies as Fastify parses them (secure-json-parse: no `__proto__` or
 * `constructor.prototype` keys), refused when nested deeper than
 * MAX_JSON_DEPTH. JSON.parse itself copes with any depth, but the validator
 * and the serializer that echoes a bad value back recurse, and a body nested
 * a few thousand levels overflowed their stack: a 500 for a client's mistake.
 */
export default fp(
  async (app) => {
    const parse = app.getDefaultJsonParser('error', 'error')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      parse(request, body as string, (error: Error | null, value?: unknown) => {
        if (error) return done(error, undefined)
        // each level opens with a bracket: a text with few cannot nest too deep, and most bodies (an incident's) have a handful
        if (openingBrackets(body as string, MAX_JSON_DEPTH + 1) <= MAX_JSON_DEPTH) return done(null, value)
        const tooDeep = findTooDeep(value)
        if (!tooDeep) return done(null, value)
        const where = tooDeep.pointer.length > 60 ? `${tooDeep.pointer.slice(0, 57)}...` : tooDeep.pointer
        done(new InvalidFieldError(
          tooDeep.pointer,
          undefined,
          `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels (level ${tooDeep.depth} at ${where}); no request needs more`,
        ), undefined)
      })
    })
  },
  { name: 'json-body' },
)

/** How many `{` and `[` the text holds (in strings too), counting no further than `upTo`. */
function openingBrackets(text: string, upTo: number): number {
  let count = 0
  for (let i = 0; i < text.length && count < upTo; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x7b || c === 0x5b) count++
  }
  return count
}
