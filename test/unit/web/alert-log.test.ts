import { describe, expect, it } from 'vitest'
import type { Alert, AlertPage } from '../../../contracts/alerts.ts'
import { ALERT_PAGE, AlertLog } from '../../../web/src/alert-log.ts'

// The alert log as one screen holds it: pages read from the server and live
// frames arrive in any order, and the screen must end up with what the
// server has.

const alert = (id: number, state: Alert['state'] = 'open', by = 'ana'): Alert => ({
  id, state, fired: '2026-12-04T14:00:00.000Z', severity: 'high',
  incident: { id: 100 + id, name: `incident ${id}`, severity: 'high', closed: false, url: `/api/incidents/${100 + id}` },
  area: { id: 1, name: 'Harbour', severity: 'medium', url: '/api/areas/1' },
  acknowledged_by: state === 'open' ? null : { id: 2, username: by },
  acknowledged_at: state === 'open' ? null : '2026-12-04T14:02:00.000Z',
  note: null,
  resolved_at: state === 'resolved' ? '2026-12-04T15:00:00.000Z' : null,
  resolved_reason: state === 'resolved' ? 'incident_closed' : null,
})
const page = (alerts: Alert[], next_cursor: number | null = null): AlertPage => ({ alerts, next_cursor })
const ids = (log: AlertLog) => log.alerts.map((a) => a.id)

describe('AlertLog', () => {
  it('puts a new alert from a frame at the top and updates a known one in place', () => {
    const log = new AlertLog()
    log.load('all', page([alert(3), alert(2), alert(1)]))
    log.upsert(alert(4))
    log.upsert(alert(2, 'acknowledged'))
    expect(ids(log)).toEqual([4, 3, 2, 1])
    expect(log.get(2)!.state).toBe('acknowledged')
  })

  it('never lets a copy read earlier undo a state a frame already brought', () => {
    const log = new AlertLog()
    log.upsert(alert(5, 'acknowledged')) // the frame arrives before the page read before it
    log.load('all', page([alert(5, 'open'), alert(4)]))
    expect(log.get(5)!.state).toBe('acknowledged')
    log.upsert(alert(5, 'open')) // a replayed, older frame
    expect(log.get(5)!.state).toBe('acknowledged')
  })

  it('keeps alerts that arrived live while a page was read, above it or within its range', () => {
    const log = new AlertLog()
    log.upsert(alert(9)) // opened after the read
    log.upsert(alert(6)) // committed late, after the read, within the page's range
    log.upsert(alert(1)) // older than the page, which has more beyond: not in sight
    log.load('all', page([alert(8), alert(7), alert(5)], 5))
    expect(ids(log)).toEqual([9, 8, 7, 6, 5])
    expect(log.olderCursor).toBe(5)
  })

  it('in the "open only" view, drops an alert once someone takes it, and ignores one that is not open', () => {
    const log = new AlertLog()
    log.load('open', page([alert(2), alert(1)]))
    log.upsert(alert(2, 'acknowledged'))
    log.upsert(alert(3, 'resolved'))
    expect(ids(log)).toEqual([1])
    expect(log.view).toBe('open')
  })

  it(`holds ${ALERT_PAGE} alerts as live ones come, and then has older ones to read from where it cut`, () => {
    const log = new AlertLog()
    log.load('all', page([]))
    expect(log.olderCursor).toBeNull()
    for (let id = 1; id <= ALERT_PAGE + 10; id++) log.upsert(alert(id))
    expect(log.alerts).toHaveLength(ALERT_PAGE)
    expect(log.alerts.at(-1)!.id).toBe(11)
    expect(log.olderCursor).toBe(11)
    log.upsert(alert(3, 'resolved')) // out of sight: stays unread
    expect(log.get(3)).toBeUndefined()

    log.loadOlder('all', page([alert(10), alert(9)], 9))
    expect(log.alerts).toHaveLength(ALERT_PAGE + 2)
    expect(log.olderCursor).toBe(9)
    // as many as were read stay held: a new alert pushes the oldest out, still in reach of "load older"
    log.upsert(alert(ALERT_PAGE + 11))
    expect(log.alerts).toHaveLength(ALERT_PAGE + 2)
    expect(log.olderCursor).toBe(10)
  })

  it('drops an older page read for a view that has since changed', () => {
    const log = new AlertLog()
    log.load('all', page([alert(5)], 5))
    log.load('open', page([alert(5)]))
    log.loadOlder('all', page([alert(4, 'resolved')]))
    expect(ids(log)).toEqual([5])
  })

  it('takes the count of open alerts from the summary, telling listeners only when it changes', () => {
    const log = new AlertLog()
    let changes = 0
    log.addEventListener('change', () => changes++)
    expect(log.openCount).toBeNull()
    const summary = (open: number) => ({ by_state: { open, acknowledged: 0, resolved: 0 }, by_severity: { urgent: 0, high: open, medium: 0, low: 0, info: 0 } })
    log.setSummary(summary(3))
    log.setSummary(summary(3))
    expect(log.openCount).toBe(3)
    expect(changes).toBe(1)
  })
})
