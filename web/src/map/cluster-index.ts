import { CLUSTER_MAX_ZOOM, type ClusterItem, type ClusterReply, type ClusterRequest } from './cluster-protocol.ts'

/** What ClusterIndex needs of a Web Worker; tests hand it one that runs in-process. */
export interface ClusterWorker {
  postMessage(message: ClusterRequest, transfer: Transferable[]): void
  onmessage: ((event: MessageEvent<ClusterReply>) => void) | null
  onerror: ((event: ErrorEvent) => void) | null
}

const spawnWorker = (): ClusterWorker => new Worker(new URL('./cluster-worker.ts', import.meta.url), { type: 'module' })

/** A preview index clusters this many zoom levels below the view's: deep enough to look like the full one there (see `load`). */
const PREVIEW_DEPTH = 2

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
  readonly #workers: ClusterWorker[] = []
  /** answers queries; null until the first build is done */
  #current: ClusterWorker | null = null
  /** the build #current holds, and the deepest zoom it clusters */
  #currentBuild = -1
  #currentMaxZoom = -1
  /** the full build in flight */
  #building: { worker: ClusterWorker; build: number } | null = null
  #queued: { ids: Int32Array; coordinates: Float64Array } | null = null
  #nextBuild = 0
  readonly #waiting = new Map<number, (reply: ClusterReply) => void>()
  #nextRequest = 0

  /**
   * @param loaded called each time a newly built index takes over
   * @param spawn starts a worker (a real Web Worker but in tests)
   */
  constructor(
    private readonly loaded: () => void,
    private readonly spawn: () => ClusterWorker = spawnWorker,
  ) {
    // both started now, so that their script is loaded and compiled while
    // the incidents are fetched: the first load keeps both busy
    this.#spawn()
    this.#spawn()
  }

  /**
   * Builds an index of these points (see LoadRequest); the arrays are handed
   * over to the worker.
   *
   * With `previewZoom` (the view's zoom, for the first load) and a worker to
   * spare, the other worker meanwhile builds a preview that clusters only
   * down to PREVIEW_DEPTH levels below that zoom, and answers until the full
   * index is in. Supercluster builds its levels from the deepest up, and the
   * deep ones are most of the work: at 50 000 incidents the preview takes a
   * small part of the time, so the map shows clusters sooner on a slow
   * machine. Its clusters at the view's zoom are nearly the full index's
   * (test/unit/web/cluster-index.test.ts holds their count within a few
   * percent); they may shift a little when the full index takes over. A
   * preview does not answer for a zoom deeper than it clusters: a zoom-in
   * before the full index is in waits for it, instead of getting every point
   * in view as a pin.
   */
  load(ids: Int32Array, coordinates: Float64Array, previewZoom?: number) {
    if (this.#building) {
      this.#queued = { ids, coordinates }
      return
    }
    const worker = this.#workers.find((w) => w !== this.#current) ?? this.#spawn()
    const previewMaxZoom = previewZoom === undefined ? CLUSTER_MAX_ZOOM : Math.max(0, Math.round(previewZoom)) + PREVIEW_DEPTH
    if (previewMaxZoom < CLUSTER_MAX_ZOOM && this.#current === null) {
      const previewer = this.#workers.find((w) => w !== worker) ?? this.#spawn()
      // copies: the originals go to the full build
      const preview = { ids: ids.slice(), coordinates: coordinates.slice() }
      this.#post(previewer, { type: 'load', build: this.#nextBuild++, maxZoom: previewMaxZoom, ...preview }, [preview.ids.buffer, preview.coordinates.buffer])
    }
    const build = this.#nextBuild++
    this.#building = { worker, build }
    this.#post(worker, { type: 'load', build, maxZoom: CLUSTER_MAX_ZOOM, ids, coordinates }, [ids.buffer, coordinates.buffer])
  }

  /** What to show for this view; null while there is no index for it yet (`loaded` fires when there is). */
  async clusters(bbox: [number, number, number, number], zoom: number): Promise<ClusterItem[] | null> {
    // past its deepest level an index would give every point in view as a pin
    if (zoom > this.#currentMaxZoom && this.#currentMaxZoom < CLUSTER_MAX_ZOOM) return null
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

  #post(worker: ClusterWorker, message: ClusterRequest, transfer: Transferable[]) {
    worker.postMessage(message, transfer)
  }

  #spawn(): ClusterWorker {
    const worker = this.spawn()
    worker.onmessage = ({ data: reply }) => {
      if (reply.type !== 'loaded') {
        this.#waiting.get(reply.request)?.(reply)
        this.#waiting.delete(reply.request)
        return
      }
      const finished = this.#building?.build === reply.build
      if (finished) this.#building = null
      // a preview that finished after the full index it stood in for is dropped
      if (reply.build > this.#currentBuild) {
        this.#current = worker
        this.#currentBuild = reply.build
        this.#currentMaxZoom = reply.maxZoom
      }
      const next = finished ? this.#queued : null
      if (next) {
        this.#queued = null
        this.load(next.ids, next.coordinates)
      }
      if (this.#current === worker && this.#currentBuild === reply.build) this.loaded()
    }
    worker.onerror = (event) => console.error(`cluster worker failed: ${event.message}`)
    this.#workers.push(worker)
    return worker
  }
}
