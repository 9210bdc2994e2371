import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { escapeHtml, sendHtmlPage } from '../http/html-page.ts'
import { Type } from 'typebox'
import { Username } from '../../contracts/users.ts'
import { AcceptInvitation } from '../../contracts/invitations.ts'
import { describeValidation } from '../http/validation.ts'
import { startSession } from '../auth/session-cookie.ts'
import { ConflictError } from '../errors.ts'
import { invitationRepository, InvitationUnusableError, type UnusableReason } from '../repositories/invitations.ts'
import { acceptRateLimit, type InvitationRouteOptions } from './api/invitations.ts'

const KeyParams = Type.Object({ key: AcceptInvitation.properties.key }, { additionalProperties: false })
const ChosenAccount = Type.Object({ username: Username, password: AcceptInvitation.properties.password }, { additionalProperties: false })

const escape = escapeHtml
const page = sendHtmlPage

const UNUSABLE: Record<UnusableReason, [number, string, string]> = {
  unknown: [404, 'This invitation link is not valid', 'Check that the whole link was copied from the mail. If the invitation was sent again, only the link in the newest mail works.'],
  used: [410, 'This invitation was already used', 'Each invitation link works once, and an account was made with this one. Sign in with the username and password chosen then.'],
  revoked: [410, 'This invitation was revoked', 'An admin withdrew this invitation. Ask them for a new one if you should have access.'],
  expired: [410, 'This invitation has expired', 'Invitation links work for a limited time. Ask an admin to send the invitation again.'],
}

const unusablePage = (reply: FastifyReply, reason: UnusableReason) => {
  const [status, title, text] = UNUSABLE[reason]
  return page(reply, status, title, `<p data-reason="${reason}">${text}</p><p><a href="/">Open the dashboard</a></p>`)
}

function form(key: string, invitation: { email: string; role: string; invitedBy: string; expires: string }, values: { username?: string; error?: string } = {}) {
  const article = invitation.role === 'viewer' ? 'a' : 'an'
  const error = values.error ? `<p class="error" role="alert" id="form-error">${escape(values.error)}</p>` : ''
  const described = values.error ? ' aria-describedby="form-error"' : ''
  return `<p>${escape(invitation.invitedBy)} invites <strong>${escape(invitation.email)}</strong> to the incident tracker as ${article} <strong>${escape(invitation.role)}</strong>.</p>
<p>Choose how you will sign in. The link works once, until ${escape(new Date(invitation.expires).toUTCString())}.</p>
${error}<form method="post" action="/invitation/${escape(key)}"${described}>
<label>Username <input name="username" autocomplete="username" required maxlength="64" pattern="[A-Za-z0-9_.@\\-]{1,64}" value="${escape(values.username ?? '')}" aria-describedby="username-hint"></label>
<span class="hint" id="username-hint">Letters, digits and _ . @ - (at most 64)</span>
<label>Password <input name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="200" aria-describedby="password-hint"></label>
<span class="hint" id="password-hint">At least 8 characters</span>
<p><button type="submit">Create my account</button></p>
</form>`
}

/**
 * The link of an invitation mail. Opening it (GET) only shows the form: mail
 * scanners fetch links, and must not spend anything. The form posts the
 * chosen username and password back; on success the browser is signed in
 * (the same session cookie as the sign-in form's) and sent to the dashboard.
 * A link that no longer works gets a page that says why.
 */
const invitationPage: FastifyPluginAsyncTypebox<InvitationRouteOptions> = async (app, options) => {
  const invitations = invitationRepository(app.db, app.users, options)

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  )

  app.get('/invitation/:key', {
    config: { access: 'public', rateLimit: { max: 60, timeWindow: '1 minute' } },
    schema: { hide: true, params: KeyParams },
    errorHandler: (_error, _request, reply) => unusablePage(reply, 'unknown'),
  }, async (request, reply) => {
    const invitation = await invitations.look(request.params.key)
    if (invitation.kind !== 'usable') return unusablePage(reply, invitation.kind)
    return page(reply, 200, 'Join the incident tracker', form(request.params.key, invitation))
  })

  app.post('/invitation/:key', {
    config: { access: 'public', rateLimit: acceptRateLimit(options.acceptRateLimitPerMinute) },
    schema: { hide: true, params: KeyParams, body: ChosenAccount },
    // the page's own answers: a refused choice shows the form again with the reason, never a JSON problem
    errorHandler: async (error, request, reply) => {
      const { key } = request.params as { key: string }
      const validation = (error as { validation?: unknown; validationContext?: string }).validation
      if (validation && (error as { validationContext?: string }).validationContext === 'params') return unusablePage(reply, 'unknown')
      if (error instanceof InvitationUnusableError) return unusablePage(reply, error.reason)
      const invitation = await invitations.look(key).catch(() => undefined)
      if (!invitation) {
        request.log.error({ err: error }, 'invitation page failed')
        return page(reply, 500, 'Something went wrong', '<p>No account was made. Try again in a moment.</p>')
      }
      if (invitation.kind !== 'usable') return unusablePage(reply, invitation.kind)
      const username = String((request.body as { username?: unknown } | undefined)?.username ?? '').slice(0, 64)
      let message: string
      let status = 400
      if (validation) {
        const body = request.body as Record<string, unknown> | undefined
        message = describeValidation(validation as never, 'body', body).map((e) => `${fieldName(e.field)} ${e.message}`).join('; ')
      } else if (error instanceof ConflictError) {
        status = 409
        message = error.message
      } else if ((error as { statusCode?: number }).statusCode === 429) {
        status = 429
        message = error.message
      } else {
        request.log.error({ err: error }, 'invitation page failed')
        status = 500
        message = 'the server could not make the account; try again in a moment'
      }
      return page(reply, status, 'Join the incident tracker', form(key, invitation, { username, error: message }))
    },
  }, async (request, reply) => {
    await invitations.accept(request.params.key, request.body.username, request.body.password)
      .then((user) => startSession(app, reply, user.id, options))
    // 303: the browser follows with a GET of the dashboard, now signed in
    return reply.code(303).header('location', '/').send()
  })
}

const fieldName = (pointer: string) => (pointer.replace(/^\//, '') || 'the form').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase())

export default invitationPage
