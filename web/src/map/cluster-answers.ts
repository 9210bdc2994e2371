import Supercluster from 'supercluster'
import type { ClusterItem, ClusterReply, ClusterRequest } from './cluster-protocol.ts'

// What a cluster worker does with each message, apart from the messaging
// itself (cluster-worker.ts), so that it runs in a unit test as it runs in
// the browser.

/** The clustering the layer always used: 50 px around each point. */
const RADIUS = 50

/** A cluster index that answers ClusterRequests: build it with a load, then ask it. */
export function clusterAnswers(): (message: ClusterRequest) => ClusterReply {
  let index = new Supercluster<{ id: number }>({ radius: RADIUS }).load([])

  return (message) => {
    if (message.type === 'load') {
      const { ids, coordinates, build, maxZoom } = message
      const points = Array.from(ids, (id, i) => ({
        type: 'Feature' as const,
        geometry: { type: 'Point' as const, coordinates: [coordinates[2 * i]!, coordinates[2 * i + 1]!] },
        properties: { id },
      }))
      index = new Supercluster<{ id: number }>({ radius: RADIUS, maxZoom }).load(points)
      return { type: 'loaded', build, maxZoom, points: points.length }
    }
    if (message.type === 'clusters') {
      const items: ClusterItem[] = index.getClusters(message.bbox, message.zoom).map((item) => {
        const props = item.properties
        if ('cluster' in props && props.cluster) {
          const [lon, lat] = item.geometry.coordinates as [number, number]
          return { kind: 'cluster', id: props.cluster_id, count: props.point_count, lon, lat }
        }
        return { kind: 'incident', id: (props as { id: number }).id }
      })
      return { type: 'clusters', request: message.request, items }
    }
    let zoom: number | null = null
    try {
      zoom = index.getClusterExpansionZoom(message.clusterId)
    } catch {
      // the cluster belonged to an index rebuilt since: the caller zooms in a step instead
    }
    return { type: 'expansion-zoom', request: message.request, zoom }
  }
}
