// The messages between the incident layer and its cluster workers
// (cluster-worker.ts), typed once for both sides.

/** Clusters break up past this zoom: from the next one on, every incident is a pin of its own. */
export const CLUSTER_MAX_ZOOM = 14

/**
 * The points to cluster, as transferable arrays: incident `ids[i]` at
 * `coordinates[2i]` (longitude), `coordinates[2i + 1]` (latitude). `build`
 * numbers the loads, so that an index finished after a newer one is not
 * taken for it. `maxZoom` is CLUSTER_MAX_ZOOM for a full index, lower for a
 * preview (see ClusterIndex).
 *
 * With `removed`, the load is a change to the index the worker holds, not a
 * new one: the points in `ids` join it (or move in it, if it has them), those
 * in `removed` leave it, and the rest is not clustered again (see
 * clusterAnswers). `maxZoom` is then the held index's.
 */
export interface LoadRequest {
  type: 'load'
  build: number
  maxZoom: number
  ids: Int32Array
  coordinates: Float64Array
  removed?: Int32Array
}

export interface ClustersRequest {
  type: 'clusters'
  request: number
  /** `[west, south, east, north]` */
  bbox: [number, number, number, number]
  zoom: number
}

export interface ExpansionZoomRequest {
  type: 'expansion-zoom'
  request: number
  clusterId: number
}

export type ClusterRequest = LoadRequest | ClustersRequest | ExpansionZoomRequest

/** A cluster, or a single incident by id. */
export type ClusterItem =
  | { kind: 'cluster'; id: number; count: number; lon: number; lat: number }
  | { kind: 'incident'; id: number }

export type ClusterReply =
  | { type: 'loaded'; build: number; maxZoom: number; points: number }
  | { type: 'clusters'; request: number; items: ClusterItem[] }
  | { type: 'expansion-zoom'; request: number; zoom: number | null }
