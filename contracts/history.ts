import { Type, type Static } from 'typebox'

// The history of an incident or an area: every change, who made it and when,
// recorded in the transaction that made it. Oldest first.

export const HISTORY_ACTIONS = [
  'created', 'edited', 'moved', 'closed', 'reopened', 'redrawn', 'deleted',
  'alert_fired', 'alert_acknowledged', 'alert_resolved',
] as const
export const HistoryAction = Type.Enum(HISTORY_ACTIONS)
export type HistoryAction = (typeof HISTORY_ACTIONS)[number]

export const FieldChange = Type.Object({ before: Type.Unknown(), after: Type.Unknown() })
export type FieldChange = Static<typeof FieldChange>

export const HistoryEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  action: HistoryAction,
  actor: Type.Union([Type.Object({ id: Type.Integer(), username: Type.String() }), Type.Null()], {
    description: 'who made the change (an alert resolved by a save: whoever saved); null when no signed-in user made it',
  }),
  changes: Type.Record(Type.String(), FieldChange, {
    description:
      'per field, before and after. created: every field (before null); edited: each field changed (incidents: name, description, severity; areas: name, severity, escalate_after_minutes, escalation_contacts); ' +
      'moved: coordinates; closed / reopened: closed; redrawn: bbox; deleted: every field (after null); ' +
      'alert entries: state, and note (acknowledged) or reason (resolved)',
  }),
  alert: Type.Union([Type.Object({ id: Type.Integer(), area: Type.Object({ id: Type.Integer(), name: Type.String() }) }), Type.Null()], {
    description: 'the alert an alert_* entry is about; null for other entries',
  }),
})
export type HistoryEntry = Static<typeof HistoryEntry>

export const History = Type.Object({ entries: Type.Array(HistoryEntry) })
export type History = Static<typeof History>
