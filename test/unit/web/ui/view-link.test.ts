import { describe, expect, it } from 'vitest'
import { readViewLink, viewLinkOf } from '../../../../web/src/ui/view-link.ts'
import { noFilters } from '../../../../web/src/store.ts'
import { MAX_SEARCH_LENGTH } from '../../../../contracts/incident-search.ts'

// The map's view and the filters in the address's fragment: what is written
// reads back the same, and a hand-edited fragment never breaks the page.

describe('a view link', () => {
  it('reads back the view and the filters it was written from', () => {
    const filters = { ...noFilters(), severities: new Set(['urgent', 'high'] as const), showClosed: false, window: 'day' as const, search: 'fire & 100% #2' }
    const hash = viewLinkOf({ lat: 48.85661, lon: 2.35222, zoom: 12 }, filters)
    expect(hash).toBe('#map=12/48.8566/2.3522&severity=urgent,high&closed=hide&window=day&q=fire%20%26%20100%25%20%232')
    const link = readViewLink(hash)
    expect(link.view).toEqual({ zoom: 12, lat: 48.8566, lon: 2.3522 })
    expect(link.filters).toEqual({ severities: new Set(['urgent', 'high']), showClosed: false, window: 'day', search: 'fire & 100% #2' })
  })

  it('writes only the filters that are on', () => {
    expect(viewLinkOf({ lat: 20, lon: 0, zoom: 2 }, noFilters())).toBe('#map=2/20.0/0.0')
    expect(readViewLink('#map=2/20.0/0.0').filters).toEqual({})
  })

  it('keeps "no severity at all" apart from "every severity"', () => {
    const hash = viewLinkOf({ lat: 0, lon: 0, zoom: 3 }, { ...noFilters(), severities: new Set() })
    expect(hash).toBe('#map=3/0.00/0.00&severity=')
    expect(readViewLink(hash).filters.severities).toEqual(new Set())
  })

  it('is finer as the map zooms in', () => {
    expect(viewLinkOf({ lat: 1.23456789, lon: 2.3456789, zoom: 18 }, noFilters())).toBe('#map=18/1.23457/2.34568')
    expect(viewLinkOf({ lat: 1.23456789, lon: 2.3456789, zoom: 4 }, noFilters())).toBe('#map=4/1.23/2.35')
  })

  it('leaves out what makes no sense, and uses the default for it', () => {
    for (const hash of ['#map=40/1/2', '#map=5/91/2', '#map=5/1/181', '#map=5/1', '#map=a/b/c', '#map=']) {
      expect(readViewLink(hash).view, hash).toBeUndefined()
    }
    expect(readViewLink('#severity=urgent,severe').filters.severities).toBeUndefined()
    expect(readViewLink('#closed=maybe&window=week').filters).toEqual({})
    expect(readViewLink(`#q=${'x'.repeat(MAX_SEARCH_LENGTH + 1)}`).filters.search).toBeUndefined()
    expect(readViewLink('#q=%E0%A4%A').filters.search).toBe('%E0%A4%A') // not valid percent-encoding: taken as written
    expect(readViewLink('#q=%20%20').filters.search).toBeUndefined()
    expect(readViewLink('')).toEqual({ filters: {} })
    expect(readViewLink('#some-anchor')).toEqual({ filters: {} })
  })

  it('keeps the parts of the fragment that are not its own, first, as written', () => {
    expect(viewLinkOf({ lat: 0, lon: 0, zoom: 3 }, noFilters(), '#here')).toBe('#here&map=3/0.00/0.00')
    expect(viewLinkOf({ lat: 0, lon: 0, zoom: 3 }, { ...noFilters(), search: 'b' }, '#map=2/1/1&x=%20y&q=a&here')).toBe('#x=%20y&here&map=3/0.00/0.00&q=b')
  })

  it('reads a + as a space, as a hand-typed search would mean it', () => {
    expect(readViewLink('#q=gas+leak').filters.search).toBe('gas leak')
  })
})
