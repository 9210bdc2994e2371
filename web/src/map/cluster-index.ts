import { CLUSTER_MAX_ZOOM, type ClusterItem, type ClusterReply, type ClusterRequest } from './cluster-protocol.ts'

/** What ClusterIndex needs of a Web Worker; tests hand it one that runs in-process. */
export interface ClusterWorker {
  postMessage(message: ClusterRequest, transfer: Transferable[]): void
  onmessage: ((event: MessageEvent<ClusterReply>) => void) | null
  onerror: ((event: ErrorEvent) => void) | null
}

/** Live changes by incident: where it is now, or null when it left the map. */
export type Changes = Map<number, [number, number] | null>

const spawnWorker = (): ClusterWorker => new Worker(new URL('./cluster-worker.ts', import.meta.url), { type: 'module' })

/** A preview index clusters this many zoom levels below the view's: deep enough to look like the full one there (see `load`). */
const PREVIEW_DEPTH = 2

/**
 * The cluster index of the incident layer, built and queried in Web Workers
 * (cluster-worker.ts) so that the main thread stays free to draw.
 *
 * Two workers take turns: one answers for the index on the map while the
 * other builds the next, so a pan during a rebuild is answered at once
 * instead of waiting for the build. Loads asked for while one builds are coalesced: only the newest is
 * built next.
 *
 * Live changes (`change`) are not built into a new index: they go to the
 * worker answering, which keeps them beside its index (clusterAnswers), and
 * to any worker building a newer one, which applies them once it is built. A
 * newly built index takes over only once its worker has applied every change
 * sent to it, so no change the map shows ever leaves it again.
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
  /** a load asked for while one builds, and the changes made since it was asked for */
  #queued: { ids: Int32Array; coordinates: Float64Array; changes: Changes } | null = null
  /** the build of the newest index each worker was asked to build (previews included), and the deepest zoom it clusters */
  readonly #baseOf = new Map<ClusterWorker, number>()
  readonly #maxZoomOf = new Map<ClusterWorker, number>()
  /** the last build each worker was sent, changes included: an index takes over once its worker has answered this */
  readonly #lastSent = new Map<ClusterWorker, number>()
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
      this.#queued = { ids, coordinates, changes: new Map() }
      return
    }
    const worker = this.#workers.find((w) => w !== this.#current) ?? this.#spawn()
    const previewMaxZoom = previewZoom === undefined ? CLUSTER_MAX_ZOOM : Math.max(0, Math.round(previewZoom)) + PREVIEW_DEPTH
    if (previewMaxZoom < CLUSTER_MAX_ZOOM && this.#current === null) {
      const previewer = this.#workers.find((w) => w !== worker) ?? this.#spawn()
      // copies: the originals go to the full build
      const preview = { ids: ids.slice(), coordinates: coordinates.slice() }
      const build = this.#nextBuild++
      this.#baseOf.set(previewer, build)
      this.#maxZoomOf.set(previewer, previewMaxZoom)
      this.#post(previewer, { type: 'load', build, maxZoom: previewMaxZoom, ...preview }, [preview.ids.buffer, preview.coordinates.buffer])
    }
    const build = this.#nextBuild++
    this.#building = { worker, build }
    this.#baseOf.set(worker, build)
    this.#maxZoomOf.set(worker, CLUSTER_MAX_ZOOM)
    this.#post(worker, { type: 'load', build, maxZoom: CLUSTER_MAX_ZOOM, ids, coordinates }, [ids.buffer, coordinates.buffer])
  }

  /**
   * Live changes, shown without clustering everything again: each incident
   * in `changes` is now at `[lon, lat]`, or (null) no longer on the map. They
   * stay beside the index until a `load` that includes them.
   */
  change(changes: Changes) {
    if (changes.size === 0) return
    if (this.#queued) for (const [id, at] of changes) this.#queued.changes.set(id, at)
    // the index answering, and any newer one on the way (the answering one's own changes die with it)
    const since = this.#current ? this.#baseOf.get(this.#current)! : -Infinity
    for (const [worker, base] of this.#baseOf) if (base >= since) this.#postChanges(worker, changes)
  }

  #postChanges(worker: ClusterWorker, changes: Changes) {
    const moved = [...changes].filter((c): c is [number, [number, number]] => c[1] !== null)
    const ids = Int32Array.from(moved, ([id]) => id)
    const coordinates = new Float64Array(2 * moved.length)
    moved.forEach(([, [lon, lat]], i) => {
      coordinates[2 * i] = lon
      coordinates[2 * i + 1] = lat
    })
    const removed = Int32Array.from([...changes].filter(([, at]) => at === null), ([id]) => id)
    this.#post(worker, { type: 'load', build: this.#nextBuild++, maxZoom: this.#maxZoomOf.get(worker)!, ids, coordinates, removed }, [ids.buffer, coordinates.buffer, removed.buffer])
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
    if (message.type === 'load') this.#lastSent.set(worker, message.build)
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
      // A newer index takes over once it holds every change sent to it (a
      // preview that finished after the full index it stood in for is
      // dropped); the index answering shows each change as it takes it in.
      const base = this.#baseOf.get(worker)!
      const newer = this.#current === null || base > this.#baseOf.get(this.#current)!
      if (worker === this.#current || (newer && this.#lastSent.get(worker) === reply.build)) {
        this.#current = worker
        this.#currentBuild = reply.build
        this.#currentMaxZoom = reply.maxZoom
      }
      const next = finished ? this.#queued : null
      if (next) {
        this.#queued = null
        this.load(next.ids, next.coordinates)
        // what changed since it was asked for, applied after it (a worker answers in order)
        if (next.changes.size) this.#postChanges(this.#building!.worker, next.changes)
      }
      if (this.#current === worker && this.#currentBuild === reply.build) this.loaded()
    }
    worker.onerror = (event) => console.error(`cluster worker failed: ${event.message}`)
    this.#workers.push(worker)
    return worker
  }
}
