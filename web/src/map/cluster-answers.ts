import Supercluster from 'supercluster'
import type { ClusterItem, ClusterReply, ClusterRequest, LoadRequest } from './cluster-protocol.ts'

// What a cluster worker does with each message, apart from the messaging
// itself (cluster-worker.ts), so that it runs in a unit test as it runs in
// the browser.

/** The clustering the layer always used: 50 px around each point. */
const RADIUS = 50
/** supercluster's tile extent, in which RADIUS is counted */
const EXTENT = 512

type Index = Supercluster<{ id: number }>

const newIndex = (maxZoom: number, points: Supercluster.PointFeature<{ id: number }>[]): Index => new Supercluster<{ id: number }>({ radius: RADIUS, extent: EXTENT, maxZoom }).load(points)

const feature = (id: number, lon: number, lat: number): Supercluster.PointFeature<{ id: number }> => ({
  type: 'Feature',
  geometry: { type: 'Point', coordinates: [lon, lat] },
  properties: { id },
})

/** Where supercluster puts a point: the world as the unit square (web mercator). */
const projectX = (lon: number) => lon / 360 + 0.5
const projectY = (lat: number) => {
  const sin = Math.sin((lat * Math.PI) / 180)
  const y = 0.5 - (0.25 * Math.log((1 + sin) / (1 - sin))) / Math.PI
  return y < 0 ? 0 : y > 1 ? 1 : y
}

/** A cluster of the index of changes is told from one of the full index by its sign. */
const freshClusterId = (id: number) => -1 - id

/**
 * A cluster index that answers ClusterRequests: build it with a load, then ask it.
 *
 * Clustering every incident again takes a long while at 50 000 on a slow
 * machine, so live changes do not wait for it: a change (a load with
 * `removed`) is kept beside the full index instead, in a small index of its
 * own over only the incidents that joined or moved since, and the full
 * index's pins of incidents that left or moved are no longer answered. A
 * cluster of changes within a full-index cluster's radius is counted into
 * that cluster, as clustering everything again would mostly have done; the
 * full-index clusters keep counting incidents that left until the next full
 * load folds every change in (the incident layer asks for one, paced).
 */
export function clusterAnswers(): (message: ClusterRequest) => ClusterReply {
  let index: Index = newIndex(0, [])
  let maxZoom = 0
  /** the full index's incidents: id → position in `coordinates` */
  let at = new Map<number, number>()
  let coordinates: Float64Array = new Float64Array(0)
  /** incidents that joined or moved since the full index was built, where they are now */
  let fresh = new Map<number, [number, number]>()
  /** incidents of the full index that left or moved since */
  let gone = new Set<number>()
  let freshIndex: Index | null = null

  const load = (message: LoadRequest): ClusterReply => {
    const { ids, build } = message
    if (!message.removed) {
      maxZoom = message.maxZoom
      coordinates = message.coordinates
      at = new Map()
      const points = Array.from(ids, (id, i) => {
        at.set(id, i)
        return feature(id, coordinates[2 * i]!, coordinates[2 * i + 1]!)
      })
      index = newIndex(maxZoom, points)
      fresh = new Map()
      gone = new Set()
      freshIndex = null
      return { type: 'loaded', build, maxZoom, points: points.length }
    }
    ids.forEach((id, i) => {
      const lon = message.coordinates[2 * i]!
      const lat = message.coordinates[2 * i + 1]!
      const j = at.get(id)
      if (j !== undefined && coordinates[2 * j] === lon && coordinates[2 * j + 1] === lat) {
        // back where the full index has it
        gone.delete(id)
        fresh.delete(id)
        return
      }
      if (j !== undefined) gone.add(id)
      fresh.set(id, [lon, lat])
    })
    for (const id of message.removed) {
      if (at.has(id)) gone.add(id)
      fresh.delete(id)
    }
    freshIndex = fresh.size ? newIndex(maxZoom, Array.from(fresh, ([id, [lon, lat]]) => feature(id, lon, lat))) : null
    return { type: 'loaded', build, maxZoom, points: at.size - gone.size + fresh.size }
  }

  const clusters = (bbox: [number, number, number, number], zoom: number): ClusterItem[] => {
    const items: ClusterItem[] = []
    for (const item of index.getClusters(bbox, zoom)) {
      const props = item.properties
      if ('cluster' in props && props.cluster) {
        const [lon, lat] = item.geometry.coordinates as [number, number]
        items.push({ kind: 'cluster', id: props.cluster_id, count: props.point_count, lon, lat })
      } else {
        const id = (props as { id: number }).id
        if (!gone.has(id)) items.push({ kind: 'incident', id })
      }
    }
    if (!freshIndex) return items
    const full = items.filter((item) => item.kind === 'cluster').map((c) => ({ c, x: projectX(c.lon), y: projectY(c.lat) }))
    const radius = RADIUS / (EXTENT * 2 ** zoom)
    for (const item of freshIndex.getClusters(bbox, zoom)) {
      const props = item.properties
      const [lon, lat] = item.geometry.coordinates as [number, number]
      const isCluster = 'cluster' in props && props.cluster
      const count = isCluster ? props.point_count : 1
      // the nearest full-index cluster within reach takes it in
      const x = projectX(lon)
      const y = projectY(lat)
      let nearest: (ClusterItem & { kind: 'cluster' }) | undefined
      let best = radius * radius
      for (const { c, x: cx, y: cy } of full) {
        const d = (cx - x) ** 2 + (cy - y) ** 2
        if (d <= best) {
          best = d
          nearest = c
        }
      }
      if (nearest) nearest.count += count
      else if (isCluster) items.push({ kind: 'cluster', id: freshClusterId(props.cluster_id), count, lon, lat })
      else items.push({ kind: 'incident', id: (props as { id: number }).id })
    }
    return items
  }

  const expansionZoom = (clusterId: number): number | null => {
    try {
      return clusterId < 0 ? (freshIndex?.getClusterExpansionZoom(freshClusterId(clusterId)) ?? null) : index.getClusterExpansionZoom(clusterId)
    } catch {
      // the cluster belonged to an index rebuilt since: the caller zooms in a step instead
      return null
    }
  }

  return (message) => {
    if (message.type === 'load') return load(message)
    if (message.type === 'clusters') return { type: 'clusters', request: message.request, items: clusters(message.bbox, message.zoom) }
    return { type: 'expansion-zoom', request: message.request, zoom: expansionZoom(message.clusterId) }
  }
}
