import { Type } from 'typebox'

/** Highest first. The database stores them as an ordered enum in the reverse order. */
export const SEVERITIES = ['urgent', 'high', 'medium', 'low', 'info'] as const

export const Severity = Type.Enum(SEVERITIES, { description: 'urgent > high > medium > low > info' })
export type Severity = (typeof SEVERITIES)[number]

export const DEFAULT_SEVERITY: Severity = 'medium'

/** 4 for urgent … 0 for info: an incident alerts an area when its rank is at least the area's. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - 1 - SEVERITIES.indexOf(severity)
}
