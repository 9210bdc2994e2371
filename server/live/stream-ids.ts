// Notification ids are Redis stream ids, "<milliseconds>-<sequence>", and the
// in-process stream makes ids of the same shape, so clients handle one format.

export const STREAM_ID = /^\d{1,20}-\d{1,20}$/

export function parseStreamId(id: string): [bigint, bigint] {
  const [ms, seq] = id.split('-')
  return [BigInt(ms!), BigInt(seq!)]
}

/** Negative when a < b, zero when equal, positive when a > b. Exact for any id a client may send. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parseStreamId(a)
  const [bm, bs] = parseStreamId(b)
  if (am !== bm) return am < bm ? -1 : 1
  return as === bs ? 0 : as < bs ? -1 : 1
}

/**
 * An id the stream itself made, parsed once into numbers: the fan-out compares
 * a delivery with every socket's last one, once per open socket for each
 * notification, so it must not parse strings or build BigInts there. Ids
 * from Redis or the in-process stream fit (milliseconds since 1970, a small
 * sequence); ids a client sends don't have to, and go through
 * `compareStreamIds`.
 */
export interface StreamPosition {
  readonly ms: number
  readonly seq: number
}

export function streamPosition(id: string): StreamPosition {
  const dash = id.indexOf('-')
  return { ms: Number(id.slice(0, dash)), seq: Number(id.slice(dash + 1)) }
}

/** true when `a` comes after `b` in the stream */
export function isAfter(a: StreamPosition, b: StreamPosition): boolean {
  return a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq)
}
