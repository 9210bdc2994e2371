import type { IncidentFeature } from '../../contracts/features.ts'
import type { NotificationBody } from '../../contracts/live.ts'
import { notificationJson, type Publication } from '../../server/live/stream.ts'

const SAVED_AT = '2026-01-01T00:00:00.000Z'

/** Incident `n` as the server sends it, at [n % 180, 0], with this description. */
export function incidentFeature(n: number, description = ''): IncidentFeature {
  return {
    type: 'Feature',
    id: `incident:${n}`,
    geometry: { type: 'Point', coordinates: [n % 180, 0] },
    properties: {
      id: n, kind: 'incident', name: `incident ${n}`, description, severity: 'medium', closed: false,
      created: SAVED_AT, updated: SAVED_AT, reporter: null, updated_by: null, version: 1, url: `/api/incidents/${n}`,
    },
  }
}

/** What saving incident `n` tells the map. */
export const savedIncident = (n: number, description = ''): NotificationBody => ({ type: 'post_save', created: true, feature: incidentFeature(n, description) })

/** What deleting incident `n` tells the map. */
export const deletedIncident = (n: number): NotificationBody => ({ type: 'post_delete', feature: incidentFeature(n) })

/** A post_save of about `bytes` bytes of JSON, for event `event`: what a save with a long description tells the map. */
export function bulkyNotification(event: number, bytes = 1000): Publication {
  return { event, body: notificationJson(savedIncident(event, 'd'.repeat(bytes))) }
}

/** `count` of them, events `first`, `first + 1`, … */
export const bulkyNotifications = (first: number, count: number, bytes?: number): Publication[] =>
  Array.from({ length: count }, (_, i) => bulkyNotification(first + i, bytes))
