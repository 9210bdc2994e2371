import { Type, type Static, type TSchema } from 'typebox'
import { Role, Username } from './users.ts'

// An admin invites an address with a role; the worker mails a single-use
// link; the invitee chooses a username and password and is signed in.

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  // one @, no spaces or control characters, a dot in the domain: what a mail server would take, not RFC 5322 in full
  pattern: '^[^\\s@\\u0000-\\u001f]+@[^\\s@\\u0000-\\u001f]+\\.[^\\s@\\u0000-\\u001f]+$',
  description: 'an email address',
})

export const NewInvitation = Type.Object({ email: Email, role: Role }, { additionalProperties: false })
export type NewInvitation = Static<typeof NewInvitation>

export const INVITATION_STATES = ['sending', 'sent', 'send_failed', 'accepted', 'expired', 'revoked'] as const
export type InvitationState = (typeof INVITATION_STATES)[number]

export const Invitation = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: Role,
  state: Type.Enum(INVITATION_STATES),
  invited_by: Type.String(),
  created: Timestamp,
  expires: Timestamp,
  sent: Nullable(Timestamp),
  send_error: Nullable(Type.String()),
  accepted: Nullable(Timestamp),
  accepted_username: Nullable(Type.String()),
})
export type Invitation = Static<typeof Invitation>

export const AcceptInvitation = Type.Object(
  { key: Type.String({ minLength: 20, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }), username: Username, password: Type.String({ minLength: 8, maxLength: 200 }) },
  { additionalProperties: false },
)
export type AcceptInvitation = Static<typeof AcceptInvitation>

export const InvitationPage = Type.Object({
  invitations: Type.Array(Invitation),
  next_cursor: Nullable(Type.Integer({ description: 'pass as `cursor` for the next (older) page; null on the last' })),
})
export type InvitationPage = Static<typeof InvitationPage>
