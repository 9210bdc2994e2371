import { Type, type Static, type TSchema } from 'typebox'
import { Severity } from './severity.ts'
import type { Alert } from './alerts.ts'

// Alerts off the dashboard: each user's email subscription, the webhooks
// operators register, and the deliveries the worker makes to both.

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const AreaId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })

export const MAX_FILTER_AREAS = 500

export const AreaFilter = Type.Union(
  [Type.Literal('all'), Type.Array(AreaId, { minItems: 1, maxItems: MAX_FILTER_AREAS, uniqueItems: true })],
  { description: '"all", or the ids of the areas whose alerts to send' },
)
export type AreaFilter = Static<typeof AreaFilter>

export const Subscription = Type.Object(
  {
    email_alerts: Type.Boolean({ description: 'send me new alerts by email (off unless turned on)' }),
    min_severity: Severity,
    areas: AreaFilter,
  },
  { additionalProperties: false },
)
export type Subscription = Static<typeof Subscription>

/** What GET /api/me/subscription answers: the subscription and the address it goes to. */
export const SubscriptionView = Type.Object({
  email_alerts: Type.Boolean(),
  min_severity: Severity,
  areas: AreaFilter,
  email: Nullable(Type.String({ description: 'where the mail goes; set by an admin, or from the invitation' })),
})
export type SubscriptionView = Static<typeof SubscriptionView>

export const WebhookUrl = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://', description: 'http(s) URL the alerts are POSTed to' })

export const NewWebhook = Type.Object(
  { url: WebhookUrl, min_severity: Type.Optional(Severity), areas: Type.Optional(AreaFilter) },
  { additionalProperties: false },
)
export type NewWebhook = Static<typeof NewWebhook>

export const Webhook = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  min_severity: Severity,
  areas: AreaFilter,
  created_by: Nullable(Type.String()),
  created: Timestamp,
})
export type Webhook = Static<typeof Webhook>

/** The 201 of POST /api/webhooks: the only time the signing secret is shown. */
export const CreatedWebhook = Type.Intersect([Webhook, Type.Object({ secret: Type.String({ description: 'whsec_…: verify each POST with it (Standard Webhooks)' }) })])
export type CreatedWebhook = Static<typeof CreatedWebhook>

export const DELIVERY_STATES = ['pending', 'sending', 'sent', 'failed'] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]
export const DELIVERY_KINDS = ['alert', 'alert_update', 'escalation'] as const
export type DeliveryKind = (typeof DELIVERY_KINDS)[number]
export const CHANNELS = ['email', 'webhook'] as const
export type Channel = (typeof CHANNELS)[number]

export const Delivery = Type.Object({
  id: Type.Integer(),
  kind: Type.Enum(DELIVERY_KINDS),
  channel: Type.Enum(CHANNELS),
  state: Type.Enum(DELIVERY_STATES, { description: 'pending → sending (an attempt is under way or was cut short) → sent | failed' }),
  alert_id: Nullable(Type.Integer()),
  to: Type.String({ description: 'the address or URL it goes to' }),
  attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
  created: Timestamp,
  last_attempt: Nullable(Timestamp),
  sent: Nullable(Timestamp),
})
export type Delivery = Static<typeof Delivery>

export const DeliveryPage = Type.Object({
  deliveries: Type.Array(Delivery),
  next_cursor: Nullable(Type.Integer()),
})
export type DeliveryPage = Static<typeof DeliveryPage>

/**
 * What an escalation sends (the mail's content, the webhook's body): the
 * alert as it stands, nobody having acknowledged it for this many minutes.
 * Webhooks otherwise receive the socket's `alert` and `alert_update` frames
 * (contracts/live.ts), with the notification's `event` id.
 */
export interface EscalationBody {
  type: 'alert_escalation'
  alert: Alert
  unacknowledged_minutes: number
}
