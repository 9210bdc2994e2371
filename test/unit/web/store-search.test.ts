import { describe, expect, it } from 'vitest'
import type { IncidentFeature } from '../../../contracts/features.ts'
import type { Notification } from '../../../contracts/live.ts'
import { filtersOn, noFilters, Store } from '../../../web/src/store.ts'
import { groupDigits, incidentCount } from '../../../web/src/ui/incident-count.ts'

// The search in the dashboard's store: the server's answer decides for the
// incidents as it saw them; the page's own match (the same rule) while it is
// asked and for incidents saved since.

const incident = (id: number, name: string, version = 1, description = ''): IncidentFeature => ({
  type: 'Feature',
  id: `incident:${id}`,
  geometry: { type: 'Point', coordinates: [0, 0] },
  properties: {
    kind: 'incident', id, name, description, severity: 'high', closed: false,
    created: '2026-11-23T00:00:00.000Z', updated: '2026-11-23T00:00:00.000Z', reporter: 'op', updated_by: 'op', version, url: `/api/incidents/${id}`,
  },
})
const saved = (event: number, feature: IncidentFeature): Notification => ({ id: `${event}-0`, event, type: 'post_save', created: false, feature })
const names = (store: Store) => store.visibleIncidents().map((f) => f.properties.name)

describe('searching in the store', () => {
  it('matches on its own while the server is asked: any part of the name or the description, any case', () => {
    const store = new Store()
    store.load([incident(1, 'Wildfire'), incident(2, 'Flood', 1, 'after the FIRE'), incident(3, 'Gas leak')], [])
    store.setFilters({ search: 'fire' })
    expect(store.unansweredSearch()).toBe('fire')
    expect(names(store)).toEqual(['Wildfire', 'Flood'])
  })

  it('follows the server once it answers, and adds what it found beyond what was loaded', () => {
    const store = new Store()
    store.load([incident(1, 'Wildfire'), incident(2, 'Gas leak')], [])
    store.setFilters({ search: 'fire' })
    // the server's rule differs from the page's for some text (a letter's case folding): its answer stands
    store.searchAnswered('fire', [incident(2, 'Gas leak'), incident(9, 'Old fire, never loaded')])
    expect(store.unansweredSearch()).toBeNull()
    expect(names(store)).toEqual(['Gas leak', 'Old fire, never loaded'])
  })

  it('matches an incident saved after the answer by the page\'s own rule', () => {
    const store = new Store()
    store.load([incident(1, 'Wildfire'), incident(2, 'Gas leak')], [])
    store.setFilters({ search: 'fire' })
    store.searchAnswered('fire', [incident(1, 'Wildfire')])
    store.apply(saved(1, incident(1, 'Put out', 2)))
    store.apply(saved(2, incident(2, 'Gas leak, then a fire', 2)))
    store.upsert(incident(3, 'Campfire'))
    expect(names(store)).toEqual(['Gas leak, then a fire', 'Campfire'])
  })

  it('drops an answer to a search typed over since, and asks again after a reload', () => {
    const store = new Store()
    store.load([incident(1, 'Wildfire'), incident(2, 'Flood')], [])
    store.setFilters({ search: 'fire' })
    store.setFilters({ search: 'flood' })
    store.searchAnswered('fire', [incident(1, 'Wildfire')])
    expect(store.unansweredSearch()).toBe('flood')
    store.searchAnswered('flood', [incident(2, 'Flood')])
    store.load([incident(1, 'Wildfire'), incident(2, 'Flood')], [])
    expect(store.unansweredSearch()).toBe('flood')
  })

  it('says whether a filter is on', () => {
    expect(filtersOn(noFilters())).toBe(false)
    expect(filtersOn({ ...noFilters(), search: 'x' })).toBe(true)
    expect(filtersOn({ ...noFilters(), showClosed: false })).toBe(true)
    expect(filtersOn({ ...noFilters(), window: 'day' })).toBe(true)
    expect(filtersOn({ ...noFilters(), severities: new Set(['urgent'] as const) })).toBe(true)
  })
})

describe('the incident count', () => {
  it('is the total with no filter, and "shown of total" with one, thousands apart', () => {
    expect(incidentCount(5011, 5011, false)).toBe('5\u202f011')
    expect(incidentCount(12, 5011, true)).toBe('12 of 5\u202f011')
    expect(incidentCount(4, 4, true)).toBe('4 of 4')
    expect(groupDigits(1234567)).toBe('1\u202f234\u202f567')
    expect(groupDigits(999)).toBe('999')
  })
})
