import type { Invitation, InvitationPage, InvitationState } from '../../../contracts/invitations.ts'
import type { JobFrame } from '../../../contracts/jobs.ts'
import { ROLES } from '../../../contracts/users.ts'
import { ApiError, call } from '../api.ts'
import type { Notifier } from './notifier.ts'
import { escapeHtml } from './escape-html.ts'
import { headerDialog } from './header-dialog.ts'
import './invitations.css'

export interface InvitationsView {
  /** a `job` frame from the live socket: an invitation's mail went out, or failed */
  job(frame: JobFrame): void
  unmount(): void
}

const STATE_WORDS: Record<InvitationState, string> = {
  sending: 'sending',
  sent: 'sent',
  send_failed: 'not sent',
  accepted: 'accepted',
  expired: 'expired',
  revoked: 'revoked',
}

const when = (at: string | null) => (at ? new Date(at).toLocaleString() : '')

const invitationsApi = {
  list: () => call<InvitationPage>('GET', '/api/invitations?limit=200'),
  invite: (email: string, role: string) => call<Invitation>('POST', '/api/invitations', { email, role }),
  resend: (id: number) => call<Invitation>('POST', `/api/invitations/${id}/resend`),
  revoke: (id: number) => call<Invitation>('DELETE', `/api/invitations/${id}`),
}

/**
 * The admins' invitations: a header button opens a dialog to invite an
 * address with a role, and to see each invitation's state (who invited,
 * when the mail went out or why not, accepted) with resend and revoke. The
 * mail's outcome arrives as a `job` frame and shows as a notice.
 */
export function mountInvitations(header: HTMLElement, notifier: Notifier): InvitationsView {
  const { dialog, unmount } = headerDialog(header, {
    name: 'invitations',
    title: 'Invitations',
    body: `
    <form class="invite-form" data-testid="invite-form">
      <label>Email <input name="email" type="email" required maxlength="254" autocomplete="off"></label>
      <label>Role <select name="role">${ROLES.map((r) => `<option value="${r}"${r === 'viewer' ? ' selected' : ''}>${r}</option>`).join('')}</select></label>
      <button type="submit" class="primary">Invite</button>
    </form>
    <p class="error" role="alert" data-testid="invitations-error"></p>
    <table>
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Invited by</th><th scope="col">Mail</th><th scope="col">Accepted</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody data-testid="invitation-rows"></tbody>
    </table>`,
    onOpen: () => {
      error.textContent = ''
      void reload()
    },
  })
  const form = dialog.querySelector<HTMLFormElement>('form')!
  const error = dialog.querySelector<HTMLElement>('.error')!
  const rows = dialog.querySelector<HTMLElement>('tbody')!
  /** addresses by invitation id, to name them in the job notices */
  const emails = new Map<number, string>()

  const nameOf = (id: number | undefined) => emails.get(id ?? -1) ?? `invitation ${id}`
  const fail = (e: unknown) => (error.textContent = e instanceof ApiError ? e.message : 'the server could not be reached')

  function render(invitations: Invitation[]) {
    for (const i of invitations) emails.set(i.id, i.email)
    rows.innerHTML = invitations
      .map((i) => {
        const mail = i.send_error ? `<span class="send-error">${escapeHtml(i.send_error)}</span>` : escapeHtml(when(i.sent))
        const accepted = i.accepted ? `${escapeHtml(i.accepted_username ?? '')} ${escapeHtml(when(i.accepted))}` : ''
        const canResend = i.state === 'sent' || i.state === 'send_failed' || i.state === 'expired'
        const canRevoke = i.state !== 'accepted' && i.state !== 'revoked'
        return `<tr data-id="${i.id}" data-testid="invitation-row">
          <td>${escapeHtml(i.email)}</td><td>${i.role}</td>
          <td><span class="state ${i.state}" data-testid="invitation-state">${STATE_WORDS[i.state]}</span></td>
          <td>${escapeHtml(i.invited_by)}</td><td>${mail}</td><td>${accepted}</td>
          <td class="row-actions">${canResend ? `<button type="button" data-action="resend" aria-label="Send the invitation to ${escapeHtml(i.email)} again">Resend</button>` : ''}${
            canRevoke ? `<button type="button" class="danger" data-action="revoke" aria-label="Revoke the invitation to ${escapeHtml(i.email)}">Revoke</button>` : ''
          }</td></tr>`
      })
      .join('')
    if (!invitations.length) rows.innerHTML = '<tr><td colspan="7">No invitations yet.</td></tr>'
  }

  const reload = () => invitationsApi.list().then((page) => render(page.invitations), fail)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    error.textContent = ''
    try {
      const invitation = await invitationsApi.invite(String(data.get('email')), String(data.get('role')))
      emails.set(invitation.id, invitation.email)
      form.reset()
      await reload()
    } catch (e) {
      fail(e)
    }
  })

  rows.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]')
    if (!button) return
    const id = Number(button.closest<HTMLElement>('tr')!.dataset.id)
    error.textContent = ''
    button.disabled = true
    try {
      await (button.dataset.action === 'resend' ? invitationsApi.resend(id) : invitationsApi.revoke(id))
      await reload()
    } catch (e) {
      fail(e)
      button.disabled = false
    }
  })

  return {
    job(frame) {
      const { job } = frame
      if (job.kind !== 'invitation') return
      if (job.status === 'queued' && job.error) {
        // an attempt failed and another follows: say why, once per attempt
        notifier.toast(`<strong>Invitation mail to ${escapeHtml(nameOf(job.subject_id))} not sent yet</strong>${escapeHtml(job.error)}; trying again`, 'job-toast', '#b7791f')
      }
      if (job.status !== 'done' && job.status !== 'failed') return
      if (job.status === 'failed') notifier.toast(`<strong>Invitation mail to ${escapeHtml(nameOf(job.subject_id))} failed</strong>${escapeHtml(job.error ?? '')}`, 'job-toast', '#b3001b')
      // a job done may have found nothing to send (revoked meanwhile): the list says what happened
      void invitationsApi.list().then((page) => {
        if (dialog.open) render(page.invitations)
        const invitation = page.invitations.find((i) => i.id === job.subject_id)
        if (job.status === 'done' && invitation?.state === 'sent') notifier.toast(`<strong>Invitation mail to ${escapeHtml(invitation.email)} sent</strong>`, 'job-toast', '#1e7e34')
      }, fail)
    },
    unmount,
  }
}
