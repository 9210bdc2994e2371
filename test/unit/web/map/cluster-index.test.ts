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

  it('shows live changes at once beside the index it has, without building it again', async () => {
    const { index, workers, loaded } = setUp()
    const { ids, coordinates } = points(3000)
    index.load(ids, coordinates)
    await settle(workers)
    const before = loaded()
    const builds = workers.flatMap((w) => w.loads).filter((l) => l.maxZoom === 14).length

    // one incident joins far from the rest, one leaves, one moves
    const [lon1, lat1] = [coordinates[0]!, coordinates[1]!]
    index.change(new Map<number, [number, number] | null>([
      [9001, [-179.9, 79.9]],
      [1, null],
      [2, [179.9, -79.9]],
    ]))
    await settle(workers)
    expect(loaded()).toBe(before + 1)
    const pins = (items: ClusterItem[]) => items.filter((i) => i.kind === 'incident').map((i) => i.id)
    // every incident is a pin past the deepest zoom: exactly what is on the map now
    const deep = (await index.clusters(WORLD, 15))!
    expect(deep.length).toBe(3000)
    expect(pins(deep)).toContain(9001)
    expect(pins(deep)).not.toContain(1)
    expect(pins(deep).filter((id) => id === 2)).toHaveLength(1)
    expect(pins((await index.clusters([-180, 79, -179, 80], 15))!)).toContain(9001)
    expect(pins((await index.clusters([179, -80, 180, -79], 15))!)).toContain(2)
    expect(pins((await index.clusters([lon1 - 0.01, lat1 - 0.01, lon1 + 0.01, lat1 + 0.01], 15))!)).not.toContain(1)
    // and nothing was clustered again from scratch
    expect(workers.flatMap((w) => w.loads).filter((l) => l.maxZoom === 14).length).toBe(builds + 1)
  })

  it('counts a new incident into the cluster it falls in, and a cluster of new ones zooms in like any', async () => {
    const { index, workers } = setUp()
    const { ids, coordinates } = points(3000)
    index.load(ids, coordinates)
    await settle(workers)
    const world = (await index.clusters(WORLD, 2))!
    const big = world.filter((i) => i.kind === 'cluster').sort((a, b) => (b as { count: number }).count - (a as { count: number }).count)[0] as ClusterItem & { kind: 'cluster' }
    // beside a big cluster, and a bunch of five in a corner where there is nothing
    const near: [number, [number, number]] = [9001, [big.lon + 0.01, big.lat]]
    const bunch = Array.from({ length: 5 }, (_, i): [number, [number, number]] => [9100 + i, [-179.5 + i * 0.01, 84]])
    index.change(new Map([near, ...bunch]))
    await settle(workers)
    const after = (await index.clusters(WORLD, 2))!
    expect(incidentsShown(after)).toBe(3006)
    expect((after.find((i) => i.kind === 'cluster' && i.id === big.id) as { count: number }).count).toBe(big.count + 1)
    const corner = after.find((i) => i.kind === 'cluster' && i.lat > 83) as ClusterItem & { kind: 'cluster' }
    expect(corner.count).toBe(5)
    expect(await index.expansionZoom(corner.id)).toBeGreaterThan(2)
  })

  it('a change made while an index builds is in that index before it takes over', async () => {
    const { index, workers, loaded } = setUp()
    const first = points(2000)
    index.load(first.ids, first.coordinates)
    await settle(workers)
    // the next full index builds on the other worker, held
    const answering = workers.find((w) => w.loads.length > 0)!
    const building = workers.find((w) => w !== answering)!
    building.hold()
    const again = points(2000)
    index.load(again.ids, again.coordinates)
    index.change(new Map([[9001, [-179.9, 79.9]]]))
    await settle(workers)
    // the answering index shows it already
    expect((await index.clusters([-180, 79, -179, 80], 15))!.map((i) => i.id)).toContain(9001)
    const shown = loaded()
    building.release()
    await settle(workers)
    expect(loaded()).toBeGreaterThan(shown)
    expect(building.loads.at(-1)!.build).toBeGreaterThan(building.loads[0]!.build) // the change went to it too
    expect((await index.clusters([-180, 79, -179, 80], 15))!.map((i) => i.id)).toContain(9001)
    expect(incidentsShown((await index.clusters(WORLD, 15))!)).toBe(2001)
  })

  it('a change made while a load waits for the one building is applied to it when it is built', async () => {
    const { index, workers } = setUp()
    const first = points(2000)
    index.load(first.ids, first.coordinates)
    await settle(workers)
    const answering = workers.find((w) => w.loads.length > 0)!
    const building = workers.find((w) => w !== answering)!
    building.hold()
    index.load(points(2000).ids, points(2000).coordinates) // builds
    index.load(points(2000).ids, points(2000).coordinates) // waits
    index.change(new Map([[9001, [-179.9, 79.9]]]))
    building.release()
    await settle(workers)
    await settle(workers)
    expect((await index.clusters([-180, 79, -179, 80], 15))!.map((i) => i.id)).toContain(9001)
    expect(incidentsShown((await index.clusters(WORLD, 15))!)).toBe(2001)
  })
})
