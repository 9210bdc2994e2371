import type { IncidentFeature } from '../../../contracts/features.ts'
import { ApiError, call } from '../api.ts'
import type { Store } from '../store.ts'

/** What `?incident=` in a page address asks for: an incident's id, a value that is none, or nothing. */
export type IncidentLink = { id: number } | { invalid: string } | undefined

const MAX_ID = 2_147_483_647

/** The incident a link names (an alert mail's: PUBLIC_URL/?incident=<id>), read from the page's address. */
export function incidentLinkOf(href: string): IncidentLink {
  const value = new URL(href).searchParams.get('incident')
  if (value === null) return undefined
  const id = /^[1-9]\d{0,9}$/.test(value) ? Number(value) : NaN
  return id <= MAX_ID ? { id } : { invalid: value }
}

/**
 * The address without `incident`, the rest as it was, character for
 * character (path, the other parameters as written, fragment): rewritten
 * by URLSearchParams, `%20` would come back as `+`.
 */
export function withoutIncidentLink(href: string): string {
  const url = new URL(href)
  const kept = url.search.slice(1).split('&').filter((pair) => pair !== '' && decodeKey(pair) !== 'incident')
  url.search = kept.length ? `?${kept.join('&')}` : ''
  return url.toString()
}

const decodeKey = (pair: string) => {
  const key = pair.split('=', 1)[0]!.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(key)
  } catch {
    return key
  }
}

export interface LinkTargets {
  store: Store
  /** flies to the incident and opens its details (map-view's `incidents.focus`) */
  focus(id: number): void
  notice(message: string): void
  report(error: unknown): void
}

/**
 * Opens the incident the page's address names, once the map has loaded:
 * one beyond what the dashboard loads is read on its own; one that does
 * not exist (deleted since the mail was sent) is said so. The parameter
 * then leaves the address, so a reload later does not fly back to it.
 */
export async function openLinkedIncident({ store, focus, notice, report }: LinkTargets): Promise<void> {
  const link = incidentLinkOf(location.href)
  if (!link) return
  history.replaceState(history.state, '', withoutIncidentLink(location.href))
  if ('invalid' in link) return notice(`The link names incident "${link.invalid}", which is not an incident number.`)
  if (!store.incidents.has(link.id)) {
    try {
      store.upsert(await call<IncidentFeature>('GET', `/api/incidents/${link.id}`))
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return notice(`Incident ${link.id} does not exist: it may have been deleted since the link was sent.`)
      return report(error)
    }
  }
  focus(link.id)
}
