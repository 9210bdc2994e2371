import { Type, type Static } from 'typebox'
import { Severity } from './severity.ts'
import { AreaGeometry, Point } from './geojson.ts'

// PostgreSQL text cannot hold NUL, so it is refused here rather than by the database
const NO_NUL = '^[^\\u0000]*$'
const Name = Type.String({ minLength: 1, maxLength: 150, pattern: NO_NUL })
const Description = Type.String({ maxLength: 1000, pattern: NO_NUL })
const Timestamp = Type.String({ format: 'date-time' })
// an integer column: a version past its range can only be a client's mistake, so the schema says so (400) before the database would fail on it
const Version = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'optimistic-concurrency version; PATCH with a stale one gets 409' })

// Escalation: an alert of the area still open this many minutes after it
// fired is sent once to the area's escalation contacts (server/jobs/escalate.ts).
export const MAX_ESCALATE_AFTER_MINUTES = 10_080 // a week
export const MAX_ESCALATION_CONTACTS = 50
const EscalateAfterMinutes = Type.Union([Type.Integer({ minimum: 1, maximum: MAX_ESCALATE_AFTER_MINUTES }), Type.Null()], {
  description: 'an alert of this area still open this many minutes after it fired goes to the escalation contacts, once; null: never',
})
const ContactIds = (what: string) =>
  Type.Array(Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), { maxItems: MAX_ESCALATION_CONTACTS, uniqueItems: true, description: what })
const ContactUsers = ContactIds('ids of the users mailed (each needs an email address)')
const ContactWebhooks = ContactIds('ids of the webhooks (GET /api/webhooks) POSTed an alert_escalation')

export const EscalationContacts = Type.Object({ users: ContactUsers, webhooks: ContactWebhooks }, { additionalProperties: false })
export type EscalationContacts = Static<typeof EscalationContacts>

/** What a client sends: a list left out is empty on create, and kept as it was on a PATCH. */
const EscalationContactsInput = Type.Object(
  { users: Type.Optional(ContactUsers), webhooks: Type.Optional(ContactWebhooks) },
  { additionalProperties: false },
)

// ---- what the server sends (REST bodies and socket frames) ----

export const IncidentProperties = Type.Object({
  id: Type.Integer(),
  kind: Type.Literal('incident'),
  name: Name,
  description: Description,
  severity: Severity,
  closed: Type.Boolean(),
  created: Timestamp,
  updated: Timestamp,
  reporter: Type.Union([Type.String(), Type.Null()], { description: 'username; null once the user is deleted' }),
  updated_by: Type.Union([Type.String(), Type.Null()], { description: 'username of whoever saved it last; null once the user is deleted' }),
  version: Version,
  url: Type.String(),
})
export type IncidentProperties = Static<typeof IncidentProperties>

export const IncidentFeature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String({ description: '"incident:<id>"' }),
  geometry: Point,
  properties: IncidentProperties,
})
export type IncidentFeature = Static<typeof IncidentFeature>

export const AreaProperties = Type.Object({
  id: Type.Integer(),
  kind: Type.Literal('area'),
  name: Name,
  severity: Severity,
  created: Timestamp,
  updated: Timestamp,
  owner: Type.Union([Type.String(), Type.Null()], { description: 'username; null once the user is deleted' }),
  updated_by: Type.Union([Type.String(), Type.Null()], { description: 'username of whoever saved it last; null once the user is deleted' }),
  escalate_after_minutes: EscalateAfterMinutes,
  escalation_contacts: EscalationContacts,
  version: Version,
  url: Type.String(),
})
export type AreaProperties = Static<typeof AreaProperties>

export const AreaFeature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String({ description: '"area:<id>"' }),
  geometry: AreaGeometry,
  properties: AreaProperties,
})
export type AreaFeature = Static<typeof AreaFeature>

export type AnyFeature = IncidentFeature | AreaFeature

export const featureCollection = <T extends typeof IncidentFeature | typeof AreaFeature>(feature: T) =>
  Type.Object({
    type: Type.Literal('FeatureCollection'),
    features: Type.Array(feature),
    next_cursor: Type.Union([Type.Integer(), Type.Null()], {
      description: 'pass as `cursor` to get the next page; null on the last page',
    }),
  })

/** One page of GET /api/incidents or /api/areas, as featureCollection describes it. */
export interface FeaturePage<F> {
  type: 'FeatureCollection'
  features: F[]
  next_cursor: number | null
}

// ---- what clients send ----

const IncidentInputProperties = {
  name: Name,
  description: Type.Optional(Description),
  severity: Type.Optional(Severity),
  closed: Type.Optional(Type.Boolean()),
}

export const IncidentCreateFeature = Type.Object(
  {
    type: Type.Literal('Feature'),
    geometry: Point,
    properties: Type.Object(IncidentInputProperties, { additionalProperties: false }),
  },
  { additionalProperties: false },
)

/** The reference tracker's flat form, kept for hand-written clients and curl. */
export const IncidentCreateFlat = Type.Object(
  {
    ...IncidentInputProperties,
    location: Type.Object(
      {
        lon: Type.Number({ minimum: -180, maximum: 180 }),
        lat: Type.Number({ minimum: -90, maximum: 90 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const IncidentCreate = Type.Union([IncidentCreateFeature, IncidentCreateFlat])
export type IncidentCreate = Static<typeof IncidentCreate>

export const IncidentPatch = Type.Object(
  {
    type: Type.Optional(Type.Literal('Feature')),
    geometry: Type.Optional(Point),
    properties: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Name),
          description: Type.Optional(Description),
          severity: Type.Optional(Severity),
          closed: Type.Optional(Type.Boolean()),
          version: Type.Optional(Version),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type IncidentPatch = Static<typeof IncidentPatch>

export const AreaCreate = Type.Object(
  {
    type: Type.Literal('Feature'),
    geometry: AreaGeometry,
    properties: Type.Object(
      {
        name: Name,
        severity: Type.Optional(Severity),
        escalate_after_minutes: Type.Optional(EscalateAfterMinutes),
        escalation_contacts: Type.Optional(EscalationContactsInput),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)
export type AreaCreate = Static<typeof AreaCreate>

export const AreaPatch = Type.Object(
  {
    type: Type.Optional(Type.Literal('Feature')),
    geometry: Type.Optional(AreaGeometry),
    properties: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Name),
          severity: Type.Optional(Severity),
          escalate_after_minutes: Type.Optional(EscalateAfterMinutes),
          escalation_contacts: Type.Optional(EscalationContactsInput),
          version: Type.Optional(Version),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type AreaPatch = Static<typeof AreaPatch>
