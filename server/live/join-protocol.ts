import type { FastifyBaseLogger } from 'fastify'
import type { ReadyFrame, ResetFrame } from '../../contracts/live.ts'
import { ReplayGapError, type NotificationStream } from './stream.ts'
import type { FanOut, FanOutMember } from './fan-out.ts'

export interface JoinRequest {
  /** the id of the last notification the client saw */
  since?: string | undefined
  /** the epoch of the `ready` frame that id came after */
  epoch?: string | undefined
}

/**
 * A socket joins the fan-out, then, when it resumes (`since`), is replayed
 * what it missed before it goes live; an id from another epoch (or without
 * one), or older than the kept history, gets `reset` instead, and the client
 * reloads. It ends with `ready`, carrying the position the socket is at.
 * The member must be `replaying` when it has a `since`, so the fan-out passes
 * it by until the replay has caught up.
 */
export async function join(stream: NotificationStream, fanOut: FanOut, member: FanOutMember, { since, epoch }: JoinRequest, log: FastifyBaseLogger): Promise<void> {
  const socket = member.socket
  fanOut.add(member)
  // read in the same tick as joining: everything after this id reaches the socket live
  const joinedAt = stream.position()
  const history = stream.epoch()
  if (!since) {
    fanOut.skipThrough(member, joinedAt)
    socket.send(JSON.stringify({ type: 'ready', id: joinedAt, epoch: history ?? null } satisfies ReadyFrame))
    return
  }
  let reset = false
  try {
    // an id of another history, or one we can't check, compares with this
    // history's ids as if it were in it: a replay would be partial
    const replay = epoch && epoch === history ? await stream.replay(since) : { reset: true as const }
    if (replay.reset || stream.epoch() !== history) {
      reset = true
    } else {
      // `since` is within the history (the replay proved it), so a real id
      fanOut.skipThrough(member, since)
      // page by page, each written only once the socket has taken enough of
      // the last; a socket that stops reading is cut off by the fan-out's
      // slow-reader rule, and the loop ends with it
      for await (const page of replay.pages) {
        await fanOut.sendPaced(member, page.deliveries)
        if (socket.readyState !== socket.OPEN) break
        fanOut.skipThrough(member, page.through)
      }
    }
  } catch (error) {
    if (!(error instanceof ReplayGapError)) log.warn({ err: error }, 'replay failed; asking the client to reload')
    reset = true
  }
  if (socket.readyState !== socket.OPEN) return
  // the history changed under the replay: what was sent may be partial (the socket is being closed for it too)
  if (stream.epoch() !== history) reset = true
  if (reset) {
    // the client reloads from now on: it goes live from here
    socket.send(JSON.stringify({ type: 'reset' } satisfies ResetFrame))
    fanOut.skipThrough(member, stream.position())
  }
  // In the same turn of the loop as the last page (or the reset): the
  // notifications after it are all still to be fanned out, and now reach it.
  member.replaying = false
  socket.send(JSON.stringify({ type: 'ready', id: member.seenThrough!.id, epoch: history ?? null } satisfies ReadyFrame))
}
