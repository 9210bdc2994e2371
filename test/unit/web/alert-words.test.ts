import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../contracts/alerts.ts'
import { RESOLVE_REASONS } from '../../../contracts/alerts.ts'
import type { HistoryEntry } from '../../../contracts/history.ts'
import { alertStateWords, RESOLVE_REASON_WORDS } from '../../../web/src/ui/alert-words.ts'
import { changeLines, entryWords } from '../../../web/src/ui/history-view.ts'

// What a person reads about an alert and about an incident's history.

const base: Alert = {
  id: 1, state: 'open', fired: '2026-12-04T13:58:00.000Z', severity: 'high',
  incident: { id: 1, name: 'Fire', severity: 'high', closed: false, url: '/api/incidents/1' },
  area: { id: 1, name: 'Harbour', severity: 'medium', url: '/api/areas/1' },
  acknowledged_by: null, acknowledged_at: null, note: null, resolved_at: null, resolved_reason: null,
}
const entry = (action: HistoryEntry['action'], changes: HistoryEntry['changes'], alert: HistoryEntry['alert'] = null): HistoryEntry => ({
  id: 1, at: '2026-12-04T14:00:00.000Z', action, actor: { id: 2, username: 'ana' }, changes, alert,
})

describe('alert words', () => {
  it('says who acknowledged an alert, when, and their note', () => {
    const at = new Date(2026, 11, 4, 14, 2)
    const words = alertStateWords({ ...base, state: 'acknowledged', acknowledged_by: { id: 2, username: 'ana' }, acknowledged_at: at.toISOString(), note: 'on my way' }, at)
    expect(words).toMatch(/^acknowledged by ana at \d{1,2}:02( PM)? — on my way$/) // in the reader's own clock
    expect(alertStateWords(base)).toBe('open')
  })

  it('words every resolve reason for a person', () => {
    for (const reason of RESOLVE_REASONS) {
      expect(RESOLVE_REASON_WORDS[reason]).not.toMatch(/_/)
      expect(alertStateWords({ ...base, state: 'resolved', resolved_reason: reason })).toBe(`resolved: ${RESOLVE_REASON_WORDS[reason]}`)
    }
    expect(RESOLVE_REASON_WORDS.left_area).toBe('incident left the area')
  })
})

describe('history words', () => {
  it('shows each edited field before and after, and a move as coordinates', () => {
    expect(changeLines(entry('edited', { name: { before: 'Fire', after: 'Big fire' }, severity: { before: 'high', after: 'urgent' } })))
      .toEqual(['name: “Fire” → “Big fire”', 'severity: “high” → “urgent”'])
    expect(changeLines(entry('moved', { coordinates: { before: [10.3, 45.2], after: [10.123456789, 45] } })))
      .toEqual(['coordinates: 10.3, 45.2 → 10.12346, 45'])
    expect(changeLines(entry('closed', { closed: { before: false, after: true } }))).toEqual(['closed: open → closed'])
  })

  it('tells the life of an alert in a line each', () => {
    const harbour = { id: 9, area: { id: 1, name: 'Harbour' } }
    expect(entryWords(entry('alert_fired', {}, harbour))).toBe('alert fired for Harbour')
    expect(entryWords(entry('alert_acknowledged', { note: { before: null, after: 'on my way' } }, harbour))).toBe('alert for Harbour acknowledged by ana — on my way')
    expect(entryWords(entry('alert_resolved', { reason: { before: null, after: 'incident_closed' } }, harbour))).toBe('alert for Harbour resolved: incident closed')
    expect(changeLines(entry('alert_fired', { state: { before: null, after: 'open' } }, harbour))).toEqual([])
  })
})
