import { describe, expect, it } from 'vitest'
import { MAX_FILTER_AREAS, type Delivery } from '../../../../contracts/deliveries.ts'
import type { JobFrame, JobStatus } from '../../../../contracts/jobs.ts'
import { areaChoices, areaFilterOf, areaFilterWords } from '../../../../web/src/ui/alert-delivery/area-filter.ts'
import { deliveryWords, retryNotice } from '../../../../web/src/ui/alert-delivery/delivery-words.ts'
import { JobListeners } from '../../../../web/src/live/job-listeners.ts'

// What a person reads and chooses about alerts off the dashboard: the areas
// a subscription or webhook covers, a retried delivery's notice, a delivery
// in the admins' list.

const areas = [
  { id: 3, name: 'Harbour' },
  { id: 1, name: 'Airport' },
  { id: 2, name: 'Écluse nord' },
]

describe('choosing areas', () => {
  it('offers every area by name, the chosen ones first', () => {
    expect(areaChoices(areas, new Set([3])).map((c) => `${c.name}${c.chosen ? ' ✓' : ''}`)).toEqual(['Harbour ✓', 'Airport', 'Écluse nord'])
  })

  it('finds an area by part of its name, whatever its case and accents', () => {
    expect(areaChoices(areas, new Set(), 'ECLU').map((c) => c.id)).toEqual([2])
    expect(areaChoices(areas, new Set(), 'port').map((c) => c.id)).toEqual([1])
    expect(areaChoices(areas, new Set(), 'nothing like it')).toEqual([])
  })

  it('still offers a chosen area that was deleted since, saying so, so it can be let go of', () => {
    const [gone] = areaChoices(areas, new Set([9]))
    expect(gone).toEqual({ id: 9, name: 'area 9, deleted', chosen: true, gone: true })
  })

  it('saves "all", or the chosen ids in order, and refuses an empty or too long choice saying why', () => {
    expect(areaFilterOf(true, new Set([3]))).toEqual({ filter: 'all' })
    expect(areaFilterOf(false, new Set([3, 1]))).toEqual({ filter: [1, 3] })
    expect(areaFilterOf(false, new Set())).toEqual({ problem: 'choose at least one area, or all areas' })
    const tooMany = new Set(Array.from({ length: MAX_FILTER_AREAS + 1 }, (_, i) => i + 1))
    expect(areaFilterOf(false, tooMany)).toEqual({ problem: `at most ${MAX_FILTER_AREAS} areas can be chosen (${MAX_FILTER_AREAS + 1} are): choose all areas instead` })
  })

  it('words a filter by the areas’ names, shortening a long one', () => {
    const nameOf = (id: number) => areas.find((a) => a.id === id)?.name
    expect(areaFilterWords('all', nameOf)).toBe('all areas')
    expect(areaFilterWords([1, 3], nameOf)).toBe('Airport, Harbour')
    expect(areaFilterWords([1, 2, 3, 9], nameOf)).toBe('Airport, Écluse nord, Harbour and 1 more')
    expect(areaFilterWords([9], nameOf)).toBe('area 9 (deleted)')
  })
})

describe('a retried delivery’s notice', () => {
  const frame = (job: Partial<JobStatus>): JobFrame => ({ type: 'job', job: { id: 'delivery-12-1', kind: 'delivery_retry', status: 'queued', subject_id: 12, ...job } })

  it('says it was sent, or why it failed, once the job has ended', () => {
    expect(retryNotice(frame({ status: 'done' }))).toBe('Retry of delivery 12: sent')
    expect(retryNotice(frame({ status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:9' }))).toBe('Retry of delivery 12: failed: connect ECONNREFUSED 127.0.0.1:9')
  })

  it('says nothing while the job waits or runs, nor for an invitation’s job', () => {
    expect(retryNotice(frame({ status: 'queued' }))).toBeUndefined()
    expect(retryNotice(frame({ status: 'running' }))).toBeUndefined()
    expect(retryNotice(frame({ kind: 'invitation', status: 'done' }))).toBeUndefined()
  })
})

describe('a delivery in the list', () => {
  const delivery: Delivery = {
    id: 12, kind: 'alert_update', channel: 'webhook', state: 'failed', alert_id: 4, to: 'https://example.org/hook', attempts: 3,
    last_error: 'HTTP 500', created: '2026-12-04T13:58:00.000Z', last_attempt: '2026-12-04T14:02:00.000Z', sent: null,
  }

  it('says what it is, its attempts, and when it was created and last tried', () => {
    const words = deliveryWords(delivery, 'en-GB')
    expect(words.what).toBe('alert update by webhook (alert 4)')
    expect(words.attempts).toBe('3 attempts')
    expect(words.times.map((t) => [t.label, t.iso])).toEqual([['created', delivery.created], ['last tried', delivery.last_attempt]])
    expect(words.times[0]!.text).toMatch(/^4 Dec 2026, \d\d:58$/) // in the reader's clock
  })

  it('says when it was sent, and one attempt in the singular', () => {
    const words = deliveryWords({ ...delivery, kind: 'alert', channel: 'email', state: 'sent', attempts: 1, sent: '2026-12-04T14:02:01.000Z' }, 'en-GB')
    expect(words.what).toBe('alert by email (alert 4)')
    expect(words.attempts).toBe('1 attempt')
    expect(words.times.map((t) => t.label)).toEqual(['created', 'last tried', 'sent'])
  })
})

describe('job listeners', () => {
  it('hands each frame to every listener until it takes itself off', () => {
    const jobs = new JobListeners()
    const seen: string[] = []
    const offA = jobs.add((f) => seen.push(`a ${f.job.id}`))
    jobs.add((f) => seen.push(`b ${f.job.id}`))
    const frame = (id: string): JobFrame => ({ type: 'job', job: { id, kind: 'delivery_retry', status: 'done' } })
    jobs.dispatch(frame('1'))
    offA()
    jobs.dispatch(frame('2'))
    expect(seen).toEqual(['a 1', 'b 1', 'b 2'])
  })
})
