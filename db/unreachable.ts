// How the pg driver and PostgreSQL say "there is no database to talk to right
// now", as opposed to "this statement is wrong": the server can only answer
// 503 and let the client retry, and must not call it a bug of its own (500).

/** Socket errors of a connection that cannot be opened or was cut. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])

/**
 * SQLSTATEs of the same: class 08 (connection exception) but 08P01
 * (protocol violation: a statement the server could not take, such as one
 * with more than 65 535 parameters, which no retry mends), 57P01..57P03
 * (admin shutdown, crash shutdown, cannot connect now: a restart or
 * failover), 53300 (too many connections), and 3D000 (the configured database
 * does not exist: renamed or dropped under a running server).
 */
const UNREACHABLE_STATE = /^(0800[0-7]|57P0[123]|53300|3D000)$/

/** What pg and pg-pool throw without a code when the connection dies or never comes. */
const UNREACHABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/

export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 3) return false
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNREACHABLE_STATE.test(code))) return true
  if (typeof message === 'string' && UNREACHABLE_MESSAGE.test(message)) return true
  // net's connect to every address of a host name fails as an AggregateError of each attempt
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnreachable(e, depth + 1))) return true
  return isDatabaseUnreachable(cause, depth + 1)
}
