import { Type, type Static } from 'typebox'

// A job a user started (an invitation's mail, a delivery retried by hand)
// reports its progress to that user's sockets only, as a `job` frame.

export const JOB_KINDS = ['invitation', 'delivery_retry'] as const
export type UserJobKind = (typeof JOB_KINDS)[number]

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const
export type JobStatusName = (typeof JOB_STATUSES)[number]

export const JobStatus = Type.Object({
  id: Type.String({ description: 'stable for the job: the same id in every frame about it' }),
  kind: Type.Enum(JOB_KINDS),
  status: Type.Enum(JOB_STATUSES),
  progress: Type.Optional(Type.Object({ done: Type.Integer(), total: Type.Integer() })),
  error: Type.Optional(Type.String()),
  /** what the job is about (an invitation id, a delivery id) */
  subject_id: Type.Optional(Type.Integer()),
})
export type JobStatus = Static<typeof JobStatus>

/** The frame; never replayed and never sent to another user's sockets. */
export interface JobFrame {
  type: 'job'
  job: JobStatus
}
