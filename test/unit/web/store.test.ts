import { describe, expect, it } from 'vitest'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { Alert } from '../../../contracts/alerts.ts'
import type { AlertedArea, Notification } from '../../../contracts/live.ts'
import { changedIncidents, DEDUPE_WINDOW, Store } from '../../../web/src/store.ts'
import { ALERT_PAGE } from '../../../web/src/alert-log.ts'

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

const record = (id: number, state: Alert['state'] = 'open'): Alert => ({
  id, state, fired: '2026-11-23T00:00:00.000Z', severity: 'high',
  incident: { id, name: `incident ${id}`, severity: 'high', closed: false, url: `/api/incidents/${id}` },
  area: { id: 1, name: 'zone', severity: 'low', url: '/api/areas/1' },
  acknowledged_by: state === 'acknowledged' ? { id: 2, username: 'ana' } : null, acknowledged_at: state === 'acknowledged' ? '2026-11-23T00:01:00.000Z' : null,
  note: null, resolved_at: null, resolved_reason: null,
})

/** what apply() returns for alert(event): the notice the page shows */
const notice = (event: number) => ({ event, at: expect.any(Date), incident: incident(event), areas: zone(event) })

const update = (event: number, alert: Alert): Notification => ({ id: `${event}-0`, event, type: 'alert_update', alert })

const saved = (event: number, id = event): Notification => ({ id: `${event}-0`, event, type: 'post_save', created: true, feature: incident(id) })

describe('Store', () => {
  it('announces an alert frame, and keeps the log from alert_update frames, newest first and bounded', () => {
    const store = new Store()
    let changes = 0
    store.alertLog.addEventListener('change', () => changes++)
    expect(store.apply(alert(1))?.areas[0]!.name).toBe('zone')
    expect(store.alertLog.alerts).toHaveLength(0) // the notice alone does not make a log entry
    for (let id = 1; id <= ALERT_PAGE + 50; id++) store.apply(update(1000 + id, record(id)))
    expect(store.alertLog.alerts).toHaveLength(ALERT_PAGE)
    expect(store.alertLog.alerts[0]!.id).toBe(ALERT_PAGE + 50)
    expect(store.alertLog.alerts.at(-1)!.id).toBe(51)
    expect(store.alertLog.olderCursor).toBe(51)
    expect(changes).toBe(ALERT_PAGE + 50)
  })

  it('drops a second delivery of an event it applied recently, alert or save', () => {
    const store = new Store()
    expect(store.apply(alert(7))).toEqual({ event: 7, at: expect.any(Date), incident: incident(7), areas: zone(7) })
    expect(store.apply(alert(7))).toBeUndefined()
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
    expect(store.apply(alert(1))).toEqual(notice(1)) // forgotten: the window moved on, and it is announced again
  })

  it('keeps a newer version when the answer to an older save arrives after it (a save here, then someone else\'s live)', () => {
    const store = new Store()
    const v = (version: number, name: string): IncidentFeature => ({ ...incident(1), properties: { ...incident(1).properties, version, name } })
    store.upsert(v(3, 'theirs'))
    store.upsert(v(2, 'mine'))
    expect(store.incidents.get(1)!.properties).toMatchObject({ version: 3, name: 'theirs' })
    store.upsert(v(4, 'mine on top'))
    expect(store.incidents.get(1)!.properties).toMatchObject({ version: 4, name: 'mine on top' })
  })

  it('names the incidents a live update or a save changed, so the map can show just them; a load names none', () => {
    const store = new Store()
    const told: (number[] | undefined)[] = []
    store.on('incidents', (event) => told.push(changedIncidents(event)))
    store.load([incident(1), incident(2)], [])
    store.apply(saved(10, 3))
    store.apply({ id: '11-0', event: 11, type: 'post_delete', feature: incident(1) })
    store.upsert({ ...incident(2), properties: { ...incident(2).properties, version: 2 } })
    expect(told).toEqual([undefined, [3], [1], [2]])
    // and whether the filters show one, as visibleIncidents() decides
    store.setFilters({ showClosed: false })
    const closed = { ...incident(4), properties: { ...incident(4).properties, closed: true } }
    expect(store.visibility()(closed)).toBe(false)
    expect(store.visibility()(incident(4))).toBe(true)
  })
})
