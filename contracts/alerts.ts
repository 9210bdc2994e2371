import { Type, type Static, type TSchema } from 'typebox'
import { SEVERITIES, Severity } from './severity.ts'

// An alert is one firing of the alert rule: one incident inside one area that
// cares about its severity. It is a record with a life of its own:
// open → acknowledged → resolved (open → resolved when nobody took it).

export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const
export const AlertState = Type.Enum(ALERT_STATES)
export type AlertState = (typeof ALERT_STATES)[number]

/** Why an alert stopped applying. */
export const RESOLVE_REASONS = ['incident_closed', 'incident_deleted', 'left_area', 'below_threshold', 'area_deleted'] as const
export const ResolveReason = Type.Enum(RESOLVE_REASONS)
export type ResolveReason = (typeof RESOLVE_REASONS)[number]

export const MAX_ALERT_NOTE = 500

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const Alert = Type.Object({
  id: Type.Integer(),
  state: AlertState,
  fired: Timestamp,
  severity: Type.Enum(SEVERITIES, { description: "the incident's severity when the alert fired" }),
  incident: Nullable(
    Type.Object({ id: Type.Integer(), name: Type.String(), severity: Severity, closed: Type.Boolean(), url: Type.String() }),
  ),
  area: Type.Object(
    { id: Type.Integer(), name: Type.String(), severity: Severity, url: Type.String() },
    { description: 'the area as it is, or as it was when it was deleted' },
  ),
  acknowledged_by: Nullable(Type.Object({ id: Type.Integer(), username: Type.String() })),
  acknowledged_at: Nullable(Timestamp),
  note: Nullable(Type.String()),
  resolved_at: Nullable(Timestamp),
  resolved_reason: Nullable(ResolveReason),
})
export type Alert = Static<typeof Alert>

export const AlertPage = Type.Object({
  alerts: Type.Array(Alert),
  next_cursor: Type.Union([Type.Integer(), Type.Null()], { description: 'pass as `cursor` to get the next (older) page; null on the last page' }),
})
export type AlertPage = Static<typeof AlertPage>

export const AlertSummary = Type.Object({
  by_state: Type.Object({ open: Type.Integer(), acknowledged: Type.Integer(), resolved: Type.Integer() }),
  by_severity: Type.Object(
    { urgent: Type.Integer(), high: Type.Integer(), medium: Type.Integer(), low: Type.Integer(), info: Type.Integer() },
    { description: 'alerts not yet resolved (open or acknowledged), by the severity they fired with' },
  ),
})
export type AlertSummary = Static<typeof AlertSummary>

export const AcknowledgeBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: MAX_ALERT_NOTE, pattern: '^[^\\u0000]*$' })) },
  { additionalProperties: false },
)
export type AcknowledgeBody = Static<typeof AcknowledgeBody>
