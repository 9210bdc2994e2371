import { describe, expect, it } from 'vitest'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { AlertedArea, Notification } from '../../../contracts/live.ts'
import { ALERT_HISTORY, DEDUPE_WINDOW, Store } from '../../../web/src/store.ts'

// The dashboard's store over a long shift: what it keeps must stay bounded,
// and duplicates must still be dropped.

const incident = (id: number): IncidentFeature => ({
  type: 'Feature',
  id: `incident:${id}`,
  geometry: { type: 'Point', coordinates: [0, 0] },
  properties: {
    kind: 'incident', id, name: `incident ${id}`, description: '', severity: 'high', closed: false,
    created: '2026-11-23T00:00:00.000Z', updated: '2026-11-23T00:00:00.000Z', reporter: 'op', updated_by: 'op', version: 1, url: `/api/incidents/${id}`,
  },
})

const zone = (alertId: number): AlertedArea[] => [{ id: 1, name: 'zone', severity: 'low', url: '/api/areas/1', alert_id: alertId }]

const alert = (event: number): Notification => ({ id: `${event}-0`, event, type: 'alert', feature: incident(event), areas_of_interest: zone(event) })

const saved = (event: number, id = event): Notification => ({ id: `${event}-0`, event, type: 'post_save', created: true, feature: incident(id) })

describe('Store', () => {
  it(`keeps the newest ${ALERT_HISTORY} alerts, newest first, and counts every one received`, () => {
    const store = new Store()
    let changes = 0
    store.on('alerts', () => changes++)
    for (let event = 1; event <= ALERT_HISTORY + 50; event++) store.apply(alert(event))
    expect(store.alerts).toHaveLength(ALERT_HISTORY)
    expect(store.alerts[0]!.event).toBe(ALERT_HISTORY + 50)
    expect(store.alerts.at(-1)!.event).toBe(51)
    expect(store.alertsReceived).toBe(ALERT_HISTORY + 50)
    expect(changes).toBe(ALERT_HISTORY + 50)
  })

  it('drops a second delivery of an event it applied recently, alert or save', () => {
    const store = new Store()
    expect(store.apply(alert(7))).toEqual({ event: 7, at: expect.any(Date), incident: incident(7), areas: zone(7) })
    expect(store.apply(alert(7))).toBeUndefined()
    expect(store.alertsReceived).toBe(1)
    store.apply(saved(8, 100))
    store.incidents.delete(100)
    store.apply(saved(8, 100)) // a duplicate must not bring back what changed since
    expect(store.incidents.has(100)).toBe(false)
  })

  it(`remembers the last ${DEDUPE_WINDOW} events, not every event since the page loaded`, () => {
    const store = new Store()
    store.apply(alert(1))
    for (let event = 2; event <= DEDUPE_WINDOW; event++) store.apply(saved(event, 1))
    expect(store.apply(alert(1))).toBeUndefined() // still within the window
    store.apply(saved(DEDUPE_WINDOW + 1, 1))
    // forgotten: the window moved on, and it is an alert again, the newest
    expect(store.apply(alert(1))).toEqual({ event: 1, at: expect.any(Date), incident: incident(1), areas: zone(1) })
    expect(store.alerts[0]!.event).toBe(1)
    expect(store.alertsReceived).toBe(2)
  })
})
