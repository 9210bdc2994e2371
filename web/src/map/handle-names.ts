import L from 'leaflet'

/** geoman's handles, by class, and what each is for a person using a screen reader */
const NAMES: [string, string][] = [
  ['cursor-marker', 'Where the next corner goes'],
  ['marker-icon-middle', 'Add a corner here: drag'],
  ['marker-icon', 'Corner of the shape: drag to move it'],
]

/**
 * Names the handles geoman puts on the map while a shape is drawn or
 * reshaped. They are Leaflet markers, which are buttons to assistive
 * technology, and geoman gives them no name (axe: aria-command-name).
 * Returns the stop.
 */
export function nameShapeHandles(map: L.Map): () => void {
  const onAdd = (event: L.LayerEvent) => {
    if (!(event.layer instanceof L.Marker)) return
    const element = event.layer.getElement()
    if (!element || element.hasAttribute('aria-label')) return
    const name = NAMES.find(([className]) => element.classList.contains(className))?.[1]
    if (name) element.setAttribute('aria-label', name)
  }
  map.on('layeradd', onAdd)
  return () => map.off('layeradd', onAdd)
}
