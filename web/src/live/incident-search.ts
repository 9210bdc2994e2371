import { api } from '../api.ts'
import type { Store } from '../store.ts'

/**
 * Asks the server (`q` on GET /api/incidents) for the search typed in the
 * filters, and hands its answer to the store, which decides by it
 * (Store#searchAnswered). Asked again when the map is read again (a reload
 * after `reset`). The page matches on its own meanwhile, so the list does
 * not wait for the network as one types.
 */
export function startIncidentSearch(store: Store, report: (error: unknown) => void): { stop(): void } {
  let asking: string | null = null
  const ask = () => {
    const text = store.unansweredSearch()
    if (text === null || text === asking) return
    asking = text
    api.searchIncidents(text)
      .then((found) => store.searchAnswered(text, found))
      .catch(report)
      .finally(() => {
        if (asking === text) asking = null
      })
  }
  store.on('filters', ask)
  store.on('incidents', ask)
  ask()
  return {
    stop() {
      store.off('filters', ask)
      store.off('incidents', ask)
    },
  }
}
