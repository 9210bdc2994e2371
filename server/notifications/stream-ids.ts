// Notification ids are Redis stream ids, "<milliseconds>-<sequence>", and the
// in-process layer makes ids of the same shape, so clients handle one format.

export const STREAM_ID = /^\d{1,20}-\d{1,20}$/

export function parseStreamId(id: string): [bigint, bigint] {
  const [ms, seq] = id.split('-')
  return [BigInt(ms!), BigInt(seq!)]
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a)
  const [bm, bs] = parseStreamId(b)
  if (am !== bm) return am < bm ? -1 : 1
  return as === bs ? 0 : as < bs ? -1 : 1
}
