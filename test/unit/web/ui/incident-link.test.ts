import { describe, expect, it } from 'vitest'
import { incidentLinkOf, withoutIncidentLink } from '../../../../web/src/ui/incident-link.ts'

// An alert mail links to the dashboard on its incident: PUBLIC_URL/?incident=<id>.

describe('an incident link', () => {
  it('names the incident by its id', () => {
    expect(incidentLinkOf('https://tracker.example/?incident=42')).toEqual({ id: 42 })
    expect(incidentLinkOf('https://tracker.example/?x=1&incident=7#map')).toEqual({ id: 7 })
  })

  it('is nothing without the parameter', () => {
    expect(incidentLinkOf('https://tracker.example/')).toBeUndefined()
    expect(incidentLinkOf('https://tracker.example/?incidents=3')).toBeUndefined()
  })

  it('keeps a value that is no incident number, to say so', () => {
    for (const value of ['', 'abc', '0', '-3', '1.5', '007', '2147483648', '1e3']) {
      expect(incidentLinkOf(`https://tracker.example/?incident=${encodeURIComponent(value)}`)).toEqual({ invalid: value })
    }
    expect(incidentLinkOf('https://tracker.example/?incident=2147483647')).toEqual({ id: 2147483647 })
  })

  it('leaves the address with the rest as it was', () => {
    expect(withoutIncidentLink('https://tracker.example/?incident=42')).toBe('https://tracker.example/')
    expect(withoutIncidentLink('https://tracker.example/board/?a=1&incident=42&b=two%20words#layer')).toBe('https://tracker.example/board/?a=1&b=two%20words#layer')
    expect(withoutIncidentLink('https://tracker.example/?q=a+b&inci%64ent=3&c')).toBe('https://tracker.example/?q=a+b&c')
  })
})
