import type { ClusterItem, ClusterReply, ClusterRequest } from './cluster-protocol.ts'

/**
 * The cluster index of the incident layer, built and queried in Web Workers
 * (cluster-worker.ts) so that the main thread stays free to draw.
 *
 * Two workers take turns: one answers for the index on the map while the
 * other builds the next, so a pan during a rebuild (every second under a
 * stream of live updates) is answered at once instead of waiting for the
 * build. Loads asked for while one builds are coalesced: only the newest is
 * built next.
 */
export class ClusterIndex {
  readonly #workers: Worker[] = []
  /** answers queries; null until the first build is done */
  #current: Worker | null = null
  #building: Worker | null = null
  #queued: { ids: Int32Array; coordinates: Float64Array } | null = null
  readonly #waiting = new Map<number, (reply: ClusterReply) => void>()
  #nextRequest = 0

  /** @param loaded called each time a newly built index takes over */
  constructor(private readonly loaded: () => void) {
    // started now, so that its script is loaded and compiled while the incidents are fetched
    this.#spawn()
  }

  /** Builds an index of these points (see LoadRequest); the arrays are handed over to the worker. */
  load(ids: Int32Array, coordinates: Float64Array) {
    if (this.#building) {
      this.#queued = { ids, coordinates }
      return
    }
    const worker = this.#workers.find((w) => w !== this.#current) ?? this.#spawn()
    this.#building = worker
    this.#post(worker, { type: 'load', ids, coordinates }, [ids.buffer, coordinates.buffer])
  }

  /** What to show for this view; null while there is no index yet (`loaded` fires when there is). */
  async clusters(bbox: [number, number, number, number], zoom: number): Promise<ClusterItem[] | null> {
    const reply = await this.#ask({ type: 'clusters', request: this.#nextRequest++, bbox, zoom })
    return reply?.type === 'clusters' ? reply.items : null
  }

  /** The zoom at which a cluster splits; null when it is no longer in the index. */
  async expansionZoom(clusterId: number): Promise<number | null> {
    const reply = await this.#ask({ type: 'expansion-zoom', request: this.#nextRequest++, clusterId })
    return reply?.type === 'expansion-zoom' ? reply.zoom : null
  }

  #ask(message: ClusterRequest & { request: number }): Promise<ClusterReply | null> {
    const worker = this.#current
    if (!worker) return Promise.resolve(null)
    return new Promise((resolve) => {
      this.#waiting.set(message.request, resolve)
      this.#post(worker, message, [])
    })
  }

  #post(worker: Worker, message: ClusterRequest, transfer: Transferable[]) {
    worker.postMessage(message, transfer)
  }

  #spawn(): Worker {
    const worker = new Worker(new URL('./cluster-worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = ({ data: reply }: MessageEvent<ClusterReply>) => {
      if (reply.type !== 'loaded') {
        this.#waiting.get(reply.request)?.(reply)
        this.#waiting.delete(reply.request)
        return
      }
      this.#current = worker
      this.#building = null
      const next = this.#queued
      this.#queued = null
      if (next) this.load(next.ids, next.coordinates)
      this.loaded()
    }
    worker.onerror = (event) => console.error(`cluster worker failed: ${event.message}`)
    this.#workers.push(worker)
    return worker
  }
}
