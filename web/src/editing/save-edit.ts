import type { AnyFeature } from '../../../contracts/features.ts'
import { ApiError } from '../api.ts'
import type { Store } from '../store.ts'
import { conflictDialog, type ConflictRow } from '../ui/conflict-dialog.ts'

/** Only what the user changed: the PATCH body, less the version (which is the base's). */
export interface Changes {
  properties?: Record<string, unknown>
  geometry?: AnyFeature['geometry']
}

/** A field a conflict can name: how to read it from a feature, and how to show it to a person. */
export interface FieldView<F extends AnyFeature> {
  field: string
  label: string
  read(feature: F): unknown
  show(value: unknown): string
}

export interface Edit<F extends AnyFeature> {
  /** the item, for a person ("incident “Gas leak”") */
  what: string
  /** the feature as it was when the user began (the form opened, the drag started) */
  base: F
  changes: Changes
  fields: FieldView<F>[]
  send(version: number, changes: Changes): Promise<F>
  /** the feature as the server has it now */
  fetch(): Promise<F>
}

/** saved: the change is in (the server's answer); discarded: the user took theirs instead */
export type EditResult<F> = { saved: F } | { discarded: F }

/**
 * Saves only what the user changed, based on the version they began from, so
 * that a save never silently reverts what someone else saved meanwhile. When
 * the server answers 409, the page reads the item again and shows, per field,
 * theirs beside mine; the user takes theirs (reload) or sends their own
 * changed fields again on top of it, with its version. The store gets
 * whichever wins. Escape on that question throws, saving nothing.
 */
export async function saveEdit<F extends AnyFeature>(store: Store, edit: Edit<F>): Promise<EditResult<F>> {
  let base = edit.base
  for (;;) {
    try {
      const saved = await edit.send(base.properties.version, edit.changes)
      store.upsert(saved)
      return { saved }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error
    }
    // The 409's problem body says only which version the server is at: read the item for what changed.
    const theirs = await edit.fetch()
    store.upsert(theirs)
    const rows = conflictRows(edit, base, theirs)
    // what they changed is nothing this user sees (an area's escalation settings): theirs stays, mine goes on top
    const choice = rows.some((row) => row.theirs !== row.before) ? await conflictDialog(edit.what, theirs.properties.updated_by, rows) : 'apply'
    if (choice === 'reload') return { discarded: theirs }
    if (choice === 'later') throw new ApiError(409, `${edit.what} was changed meanwhile; nothing of yours was saved`)
    base = theirs
  }
}

function conflictRows<F extends AnyFeature>(edit: Edit<F>, base: F, theirs: F): ConflictRow[] {
  const mine = applied(edit.base, edit.changes)
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
  const rows: ConflictRow[] = []
  for (const f of edit.fields) {
    const changedByMe = !same(f.read(mine), f.read(edit.base))
    const changedByThem = !same(f.read(theirs), f.read(base))
    if (!changedByMe && !changedByThem) continue
    rows.push({
      field: f.field,
      label: f.label,
      before: f.show(f.read(base)),
      theirs: f.show(f.read(theirs)),
      mine: changedByMe ? f.show(f.read(mine)) : undefined,
    })
  }
  return rows
}

/** The feature as this user means it: the base with their changes. */
function applied<F extends AnyFeature>(base: F, changes: Changes): F {
  return { ...base, geometry: changes.geometry ?? base.geometry, properties: { ...base.properties, ...changes.properties } }
}

/** The fields of `values` (a form's) that differ from `opened`: what the user changed, and only that. */
export function changedProperties(opened: object, values: Record<string, string>): Record<string, string> {
  // a text area gives its text with \n line ends whatever it was given: that is no change
  const text = (value: unknown) => String(value).replace(/\r\n?/g, '\n')
  const changed: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    if (text((opened as Record<string, unknown>)[key]) !== text(value)) changed[key] = value
  }
  return changed
}
