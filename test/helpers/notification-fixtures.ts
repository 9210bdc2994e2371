import type { NotificationBody } from '../../contracts/live.ts'
import { notificationJson, type Publication } from '../../server/live/stream.ts'

/** A post_save of about `bytes` bytes of JSON, for event `event`: what a save with a long description tells the map. */
export function bulkyNotification(event: number, bytes = 1000): Publication {
  const body = {
    type: 'post_save',
    created: true,
    feature: {
      type: 'Feature',
      id: `incident:${event}`,
      geometry: { type: 'Point', coordinates: [event % 180, 0] },
      properties: { id: event, kind: 'incident', name: `incident ${event}`, description: 'd'.repeat(bytes), severity: 'medium', closed: false },
    },
  } as unknown as NotificationBody
  return { event, body: notificationJson(body) }
}

/** `count` of them, events `first`, `first + 1`, … */
export const bulkyNotifications = (first: number, count: number, bytes?: number): Publication[] =>
  Array.from({ length: count }, (_, i) => bulkyNotification(first + i, bytes))
