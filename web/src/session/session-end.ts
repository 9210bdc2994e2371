import { keepOpenDraft } from './drafts.ts'

// The session ended under a running dashboard: it expired, or it was signed
// out elsewhere (the live socket is closed with SESSION_ENDED; a request is
// answered 401). The page keeps what was being typed, says why on the
// sign-in form, and after signing in again offers the draft back.

const REASON_KEY = 'incident-tracker:signed-out-because'

let signedInUser: number | undefined
let ending = false

/** The dashboard runs for this user: from now on a 401 means the session ended. */
export function watchSessionOf(userId: number): void {
  signedInUser = userId
}

/** The user signs out: what follows (a 401, the socket closed) is no surprise. */
export function signingOutOnPurpose(): void {
  ending = true
}

/** Keeps the open form's draft and goes to the sign-in form, which says why. Once. */
export function sessionEnded(): void {
  if (signedInUser === undefined || ending) return
  ending = true
  keepOpenDraft(signedInUser)
  try {
    sessionStorage.setItem(REASON_KEY, 'ended')
  } catch {
    // the sign-in form then shows without the reason
  }
  location.reload()
}

/** Why the last dashboard in this tab was left, once: for the sign-in form. */
export function takeSignOutReason(): string | undefined {
  try {
    const reason = sessionStorage.getItem(REASON_KEY)
    sessionStorage.removeItem(REASON_KEY)
    return reason === 'ended' ? 'Your session ended (it expired, or you were signed out elsewhere). Sign in again to go on: what you were typing is kept.' : undefined
  } catch {
    return undefined
  }
}
