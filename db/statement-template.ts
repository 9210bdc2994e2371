import type { CompiledQuery } from 'kysely'

/**
 * A statement compiled once and bound per call, for the hottest path (a
 * save). Kysely builds and compiles a query's whole tree on every call, and
 * a save's statement is a large tree (the write, the feature, the alert rule,
 * the outbox rows): compiling it was a visible share of the server's CPU
 * under the geofence benchmark. Compiled once with a unique placeholder for
 * each value, a call only fills in the parameters, and the SQL is the same
 * string every time, so the per-connection prepared-statement lookup
 * (StatementNames) hashes it once instead of hashing kilobytes per save.
 *
 * `compile` must pass each placeholder through as one parameter, unchanged
 * (no JSON.stringify of it, no `?? default`): checked here, so a builder that
 * breaks that fails when the template is made, at start, not on a save.
 */
export function statementTemplate<V extends object>(
  keys: readonly (keyof V & string)[],
  compile: (values: V) => CompiledQuery,
): (values: V) => CompiledQuery {
  // objects, so that no real value can be mistaken for one (compared by identity)
  const placeholders: Record<string, object> = Object.fromEntries(keys.map((key) => [key, { placeholder: key }]))
  const compiled = compile(placeholders as unknown as V)
  const positions = keys.map((key) => {
    const at = compiled.parameters.indexOf(placeholders[key])
    if (at < 0 || compiled.parameters.lastIndexOf(placeholders[key]) !== at) {
      throw new Error(`statement template: the value "${key}" must reach the statement as exactly one parameter, unchanged`)
    }
    return at
  })
  return (values) => {
    const parameters = [...compiled.parameters]
    keys.forEach((key, i) => (parameters[positions[i]!] = values[key]))
    return { ...compiled, parameters }
  }
}
