import Supercluster from 'supercluster'
import type { ClusterItem, ClusterReply, ClusterRequest } from './cluster-protocol.ts'

// A supercluster index in a Web Worker. Building it over 50 000 points takes
// a good second on a slow machine, all of it on the main thread before: no
// frame could be drawn meanwhile, at the first load and again on every
// rebuild for live changes. Here the page keeps drawing while it builds.

/** Only what a dedicated worker's global scope offers that we use (the DOM typings describe a window). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ClusterRequest>) => void) | null
  postMessage(message: ClusterReply): void
}

// the options the layer always used: clusters break up past zoom 14
const options = { radius: 50, maxZoom: 14 }
let index = new Supercluster<{ id: number }>(options).load([])

scope.onmessage = ({ data: message }) => {
  if (message.type === 'load') {
    const { ids, coordinates } = message
    const points = Array.from(ids, (id, i) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [coordinates[2 * i]!, coordinates[2 * i + 1]!] },
      properties: { id },
    }))
    index = new Supercluster<{ id: number }>(options).load(points)
    scope.postMessage({ type: 'loaded', points: points.length })
  } else if (message.type === 'clusters') {
    const items: ClusterItem[] = index.getClusters(message.bbox, message.zoom).map((item) => {
      const props = item.properties
      if ('cluster' in props && props.cluster) {
        const [lon, lat] = item.geometry.coordinates as [number, number]
        return { kind: 'cluster', id: props.cluster_id, count: props.point_count, lon, lat }
      }
      return { kind: 'incident', id: (props as { id: number }).id }
    })
    scope.postMessage({ type: 'clusters', request: message.request, items })
  } else {
    let zoom: number | null = null
    try {
      zoom = index.getClusterExpansionZoom(message.clusterId)
    } catch {
      // the cluster belonged to an index rebuilt since: the caller zooms in a step instead
    }
    scope.postMessage({ type: 'expansion-zoom', request: message.request, zoom })
  }
}
