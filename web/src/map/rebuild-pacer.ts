/** When the incident layer rebuilds its cluster index for live changes (see RebuildPacer). */
export interface RebuildTiming {
  /** at most one rebuild this often */
  everyMs: number
  /** a rebuild waits until the map has been still this long… */
  stillMs: number
  /** …or, while the map keeps moving, at most this long after the first change it holds */
  whileMovingMs: number
}

export const REBUILD_TIMING: RebuildTiming = { everyMs: 5000, stillMs: 1000, whileMovingMs: 15_000 }

/**
 * Paces the rebuilds of the cluster index that fold live changes into it.
 *
 * A live change shows at once without one (ClusterIndex#change keeps it
 * beside the index); the rebuild only makes the clusters exact again (an
 * incident that left still counts in its old cluster until then). It
 * clusters every incident again: at 50 000 that is a sizeable stretch of a
 * worker's CPU on a 2-core machine, taken from the threads that draw the
 * map, so it is rare. While the map is still nobody sees that, so a rebuild
 * goes once the map has been still for `stillMs`, at most every `everyMs`.
 * While the map pans or zooms, every frame counts, and clusters that regroup
 * under the pointer mid-gesture only distract: a map that never stops still
 * gets one `whileMovingMs` after the first change it holds, so the changes
 * kept beside the index (re-clustered with each change) stay few.
 *
 * Rebuilds made for other reasons (the first load, a filter change) go
 * ahead at once; tell the pacer with `rebuilt()`, so a change it was holding
 * is known to be included.
 */
export class RebuildPacer {
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastRebuild = -Infinity
  /** when the first change not yet in a rebuild was asked for (set whenever a rebuild is held) */
  #heldSince = -Infinity
  #moving = false
  #stillSince = -Infinity

  constructor(
    private readonly rebuild: () => void,
    private readonly timing: RebuildTiming = REBUILD_TIMING,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: rebuild as soon as the pacing allows. */
  request(): void {
    if (this.#timer !== undefined) return
    this.#heldSince = this.now()
    this.#arm()
  }

  /** A rebuild just happened, whoever made it: whatever was held is in it. */
  rebuilt(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#lastRebuild = this.now()
  }

  moveStarted(): void {
    this.#moving = true
  }

  moveEnded(): void {
    this.#moving = false
    this.#stillSince = this.now()
    // a held rebuild goes `stillMs` from now, not at its next look
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#arm()
    }
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#wait() > 0) this.#arm()
      else this.rebuild()
    }, this.#wait())
  }

  /** ms until a held rebuild may go ahead, as far as is known now (0: now). */
  #wait(): number {
    const now = this.now()
    const paced = this.#lastRebuild + this.timing.everyMs - now
    const stillFor = this.#moving ? 0 : now - this.#stillSince
    if (stillFor >= this.timing.stillMs) return Math.max(0, paced)
    // from the first change held, so that a lone change after a quiet spell waits for a still map too
    const forced = this.#heldSince + this.timing.whileMovingMs - now
    if (forced <= 0) return Math.max(0, paced)
    // moving: look again when the map could have been still long enough, or when it is forced
    return Math.max(0, paced, Math.min(forced, this.timing.stillMs - stillFor))
  }
}
