import type { AnyFeature } from '../../contracts/features.ts'
import type { Alert } from '../../contracts/alerts.ts'

export type PostSaveHook = (feature: AnyFeature, info: { created: boolean }) => void | Promise<void>
export type PostDeleteHook = (feature: AnyFeature) => void | Promise<void>
export type PostAlertUpdateHook = (alert: Alert) => void | Promise<void>

/**
 * Post-save / post-delete hooks, run after the saving transaction has
 * committed (so a hook never sees a change that could still roll back).
 * A failing hook is reported and does not fail the save: the change and its
 * outbox rows are already durable.
 */
export class SaveHooks {
  readonly #postSave: PostSaveHook[] = []
  readonly #postDelete: PostDeleteHook[] = []
  readonly #postAlertUpdate: PostAlertUpdateHook[] = []

  constructor(private readonly onHookError: (error: unknown) => void = () => {}) {}

  onPostSave(hook: PostSaveHook): () => void {
    this.#postSave.push(hook)
    return () => remove(this.#postSave, hook)
  }

  onPostDelete(hook: PostDeleteHook): () => void {
    this.#postDelete.push(hook)
    return () => remove(this.#postDelete, hook)
  }

  /** An alert changed state by itself (acknowledged), not as part of a save. */
  onPostAlertUpdate(hook: PostAlertUpdateHook): () => void {
    this.#postAlertUpdate.push(hook)
    return () => remove(this.#postAlertUpdate, hook)
  }

  async postSave(feature: AnyFeature, created: boolean): Promise<void> {
    for (const hook of this.#postSave) await this.#guard(() => hook(feature, { created }))
  }

  async postDelete(feature: AnyFeature): Promise<void> {
    for (const hook of this.#postDelete) await this.#guard(() => hook(feature))
  }

  async postAlertUpdate(alert: Alert): Promise<void> {
    for (const hook of this.#postAlertUpdate) await this.#guard(() => hook(alert))
  }

  async #guard(run: () => void | Promise<void>): Promise<void> {
    try {
      await run()
    } catch (error) {
      this.onHookError(error)
    }
  }
}

function remove<T>(list: T[], item: T) {
  const i = list.indexOf(item)
  if (i >= 0) list.splice(i, 1)
}
