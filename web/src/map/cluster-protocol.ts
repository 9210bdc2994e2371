// The messages between the incident layer and its cluster workers
// (cluster-worker.ts), typed once for both sides.

/** The points to cluster, as transferable arrays: incident `ids[i]` at `coordinates[2i]` (longitude), `coordinates[2i + 1]` (latitude). */
export interface LoadRequest {
  type: 'load'
  ids: Int32Array
  coordinates: Float64Array
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
  | { type: 'loaded'; points: number }
  | { type: 'clusters'; request: number; items: ClusterItem[] }
  | { type: 'expansion-zoom'; request: number; zoom: number | null }
