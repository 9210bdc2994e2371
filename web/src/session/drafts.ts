import type { IncidentFeature } from '../../../contracts/features.ts'

// What an open form holds when the session ends under it (an expiry, a
// sign-out elsewhere): kept in this tab's sessionStorage across the reload
// to the sign-in form, and offered back once the same user is signed in
// again. sessionStorage: the tab's own, gone when the tab closes, never sent
// to the server.

/** What a form was about: enough to open the same form again. */
export type DraftSubject =
  | { kind: 'report'; lon: number; lat: number }
  /** the incident as the form was opened on it: a save is based on that version (editing/save-edit.ts) */
  | { kind: 'edit-incident'; base: IncidentFeature }

export interface Draft {
  subject: DraftSubject
  /** the form's fields as typed */
  values: Record<string, string>
}

interface Kept extends Draft {
  /** only the user who typed it gets it back */
  userId: number
}

const KEY = 'incident-tracker:draft'
/** a stale draft is not worth offering (and the tab may have been left for days) */
const KEEP_MS = 24 * 3600_000

let open: { subject: DraftSubject; read: () => Record<string, string> } | undefined

/** The form now open registers what it is about; the returned function forgets it (closed). */
export function trackOpenForm(subject: DraftSubject, read: () => Record<string, string>): () => void {
  const entry = { subject, read }
  open = entry
  return () => {
    if (open === entry) open = undefined
  }
}

/** Keeps the open form's draft, if any, for this user. */
export function keepOpenDraft(userId: number): void {
  if (!open) return
  const kept: Kept & { at: number } = { userId, subject: open.subject, values: open.read(), at: Date.now() }
  try {
    sessionStorage.setItem(KEY, JSON.stringify(kept))
  } catch {
    // storage full or refused (private mode): the draft is lost, as before
  }
}

/** The draft this user left, once: it is removed as it is taken. Another user's is dropped. */
export function takeDraft(userId: number): Draft | undefined {
  let kept: (Kept & { at: number }) | undefined
  try {
    kept = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') ?? undefined
    sessionStorage.removeItem(KEY)
  } catch {
    return undefined
  }
  if (!kept || kept.userId !== userId || Date.now() - kept.at > KEEP_MS) return undefined
  return { subject: kept.subject, values: kept.values }
}
