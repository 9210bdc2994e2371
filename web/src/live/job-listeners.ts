import type { JobFrame } from '../../../contracts/jobs.ts'

/**
 * Whoever wants the status of this user's jobs (the notices, a list that
 * shows what a job changed), from the one live socket: each adds itself
 * and takes itself off with what `add` returns.
 */
export class JobListeners {
  readonly #listeners = new Set<(frame: JobFrame) => void>()

  add(listener: (frame: JobFrame) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  dispatch(frame: JobFrame) {
    for (const listener of this.#listeners) listener(frame)
  }
}
