import L from 'leaflet'
import { ApiError } from '../api.ts'

/** Why the server refused a shape, in words for a person, and where on the map (when it says). */
export interface ShapeFault {
  words: string
  /** [longitude, latitude] */
  location?: [number, number]
}

/** The fault in a refused shape, when `error` is the server refusing the geometry (400 naming `/geometry`). */
export function shapeFault(error: unknown): ShapeFault | undefined {
  if (!(error instanceof ApiError) || error.status !== 400) return undefined
  const entry = error.errors.find((e) => e.field === '/geometry' || e.field.startsWith('/geometry/'))
  if (!entry) return undefined
  return { words: entry.message, ...(entry.location && { location: entry.location }) }
}

/** "The outline crosses itself here" (beside the mark on the map), or the words alone when there is no place to mark. */
export function faultSentence(fault: ShapeFault): string {
  const words = fault.words.charAt(0).toUpperCase() + fault.words.slice(1)
  return fault.location ? `${words} here` : words
}

/**
 * A mark on the map where a refused shape goes wrong (where its outline
 * crosses itself), with the reason beside it, until the shape is saved or
 * given up.
 */
export class FaultMark {
  #marker: L.Marker | undefined

  constructor(private readonly map: L.Map) {}

  show(fault: ShapeFault) {
    this.clear()
    if (!fault.location) return
    const [lon, lat] = fault.location
    const sentence = faultSentence(fault)
    this.#marker = L.marker([lat, lon], {
      icon: L.divIcon({ className: 'shape-fault', html: '<span aria-hidden="true">✕</span>', iconSize: [22, 22] }),
      interactive: false,
      keyboard: false,
      // above the vertices being dragged, so the mark is not hidden under one
      zIndexOffset: 1000,
      title: sentence,
    })
      .bindTooltip(sentence, { permanent: true, direction: 'right', offset: [12, 0], className: 'shape-fault-words' })
      .addTo(this.map)
    this.#marker.getElement()?.setAttribute('data-testid', 'shape-fault')
  }

  clear() {
    this.#marker?.remove()
    this.#marker = undefined
  }
}
