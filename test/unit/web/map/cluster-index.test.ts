import { describe, expect, it } from 'vitest'
import { clusterAnswers } from '../../../../web/src/map/cluster-answers.ts'
import { ClusterIndex, type ClusterWorker } from '../../../../web/src/map/cluster-index.ts'
import type { ClusterItem, ClusterReply, ClusterRequest } from '../../../../web/src/map/cluster-protocol.ts'
import { waitUntil } from '../../../helpers/wait.ts'

// The incident layer's cluster index: a quick preview on the first load,
// then the full index. The workers here run the real worker code
// (cluster-answers.ts) in-process, because Node has no Web Workers; each one
// can be held, to finish its builds in the order a test needs.

class InProcessWorker implements ClusterWorker {
  onmessage: ((event: MessageEvent<ClusterReply>) => void) | null = null
  onerror: ((event: ErrorEvent) => void) | null = null
  readonly loads: { build: number; maxZoom: number }[] = []
  readonly #answer = clusterAnswers()
  readonly #inbox: ClusterRequest[] = []
  #held = false
  /** turns of #work asked for and not yet run */
  #scheduled = 0

  postMessage(message: ClusterRequest): void {
    if (message.type === 'load') this.loads.push({ build: message.build, maxZoom: message.maxZoom })
    this.#inbox.push(message)
    this.#schedule()
  }

  hold() {
    this.#held = true
  }

  release() {
    this.#held = false
    this.#schedule()
  }

  /** nothing left to answer (or held): what it will say until it is asked again or released, it has said */
  get idle(): boolean {
    return this.#scheduled === 0 && (this.#held || this.#inbox.length === 0)
  }

  /** a worker answers in a task of its own, as a real one does */
  #schedule() {
    this.#scheduled++
    setTimeout(() => {
      this.#scheduled--
      this.#work()
    }, 0)
  }

  /** a worker answers its messages one at a time, in order */
  #work() {
    while (!this.#held && this.#inbox.length > 0) {
      const reply = this.#answer(this.#inbox.shift()!)
      this.onmessage?.({ data: reply } as MessageEvent<ClusterReply>)
    }
  }
}

function setUp() {
  const workers: InProcessWorker[] = []
  let loaded = 0
  const index = new ClusterIndex(() => loaded++, () => {
    const worker = new InProcessWorker()
    workers.push(worker)
    return worker
  })
  return { index, workers, loaded: () => loaded }
}

/** `count` points spread over the world the map shows, the same ones every run */
function points(count: number, seed = 7) {
  let state = seed
  const random = () => (state = (state * 16807) % 2147483647) / 2147483647
  const ids = new Int32Array(count)
  const coordinates = new Float64Array(2 * count)
  for (let i = 0; i < count; i++) {
    ids[i] = i + 1
    coordinates[2 * i] = -180 + 360 * random()
    coordinates[2 * i + 1] = -80 + 160 * random()
  }
  return { ids, coordinates }
}

const WORLD: [number, number, number, number] = [-180, -85, 180, 85]
/** once every worker has answered all it was asked (a held one waits): the index's messages all go out synchronously, in load() and in its replies */
const settle = (workers: InProcessWorker[]) => waitUntil(() => workers.every((worker) => worker.idle), { everyMs: 1, what: 'the workers to answer' })
/** how many incidents the items stand for: a cluster its count, a pin one */
const incidentsShown = (items: ClusterItem[]) => items.reduce((sum, item) => sum + (item.kind === 'cluster' ? item.count : 1), 0)

describe('ClusterIndex', () => {
  it('shows a preview of every incident first, then the full index takes over', async () => {
    const { index, workers, loaded } = setUp()
    const { ids, coordinates } = points(5000)
    const [full, previewer] = workers as [InProcessWorker, InProcessWorker]
    full.hold()
    index.load(ids, coordinates, 2)
    await settle(workers)

    // the preview is in: every incident is on the world map at zoom 2
    expect(loaded()).toBe(1)
    expect(previewer.loads).toEqual([{ build: 0, maxZoom: 4 }])
    const preview = (await index.clusters(WORLD, 2))!
    expect(incidentsShown(preview)).toBe(5000)
    // deeper than the preview clusters, it does not answer: the layer waits
    // rather than showing every incident in view as a pin
    expect(await index.clusters(WORLD, 8)).toBeNull()

    full.release()
    await settle(workers)
    expect(loaded()).toBe(2)
    expect(full.loads).toEqual([{ build: 1, maxZoom: 14 }])
    const final = (await index.clusters(WORLD, 2))!
    expect(incidentsShown(final)).toBe(5000)
    // the preview looked like the full index: the map barely changes when it takes over
    expect(Math.abs(final.length - preview.length)).toBeLessThanOrEqual(0.03 * final.length)
    expect(incidentsShown((await index.clusters(WORLD, 8))!)).toBe(5000)
    expect(incidentsShown((await index.clusters([0, 0, 10, 10], 15))!)).toBeGreaterThan(0)
  })

  it('drops a preview that finishes after the full index, and builds a load asked for meanwhile next', async () => {
    const { index, workers, loaded } = setUp()
    const [full, previewer] = workers as [InProcessWorker, InProcessWorker]
    previewer.hold()
    const first = points(3000)
    index.load(first.ids, first.coordinates, 2)
    // a live change while the first index builds
    const more = points(3001, 11)
    index.load(more.ids, more.coordinates)
    await settle(workers)
    expect(loaded()).toBe(1) // the full first index
    expect(incidentsShown((await index.clusters(WORLD, 8))!)).toBe(3000)

    // the queued load goes to the worker that is not answering; the late
    // preview is answered first there, and must not replace the full index
    previewer.release()
    await settle(workers)
    expect(previewer.loads.map((l) => l.maxZoom)).toEqual([4, 14])
    expect(loaded()).toBe(2) // the rebuild, not the preview
    expect(incidentsShown((await index.clusters(WORLD, 8))!)).toBe(3001)
  })

  it('builds no preview when the view is already about as deep as the full index, nor after the first load', async () => {
    const { index, workers, loaded } = setUp()
    const { ids, coordinates } = points(500)
    index.load(ids, coordinates, 13)
    await settle(workers)
    expect(workers.flatMap((w) => w.loads)).toEqual([{ build: 0, maxZoom: 14 }])
    expect(loaded()).toBe(1)

    const again = points(500, 3)
    index.load(again.ids, again.coordinates, 2)
    await settle(workers)
    expect(workers.flatMap((w) => w.loads).map((l) => l.maxZoom)).toEqual([14, 14])
    expect(loaded()).toBe(2)
  })
})
