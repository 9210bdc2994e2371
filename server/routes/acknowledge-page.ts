import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { ConflictError, NotFoundError } from '../errors.ts'
import { escapeHtml, sendHtmlPage } from '../http/html-page.ts'

const KeyParams = Type.Object({ key: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'the key from the mail' }) }, { additionalProperties: false })

const escape = escapeHtml
const DASHBOARD_LINK = '<p><a href="/">Open the dashboard</a></p>'
const page = (reply: FastifyReply, status: number, title: string, body: string) => sendHtmlPage(reply, status, title, body + DASHBOARD_LINK)

const unusable = {
  used: ['This link was already used', 'Each acknowledge link works once. The alert may have been acknowledged with it; the dashboard shows who took it.'],
  expired: ['This link has expired', 'Acknowledge links work for a limited time. Acknowledge the alert in the dashboard.'],
  unknown: ['This link is not valid', 'Check that the whole link was copied from the mail, or acknowledge the alert in the dashboard.'],
} as const

/**
 * The one-click acknowledge link of an alert mail. Opening it (GET) only
 * shows the alert and a button: mail scanners and link previews fetch links,
 * and must not acknowledge anything. The button POSTs the key back, and the
 * POST acknowledges, once, as the person the mail went to.
 */
const acknowledgePage: FastifyPluginAsyncTypebox = async (app) => {
  // the button's form posts nothing but the key in the path: take the form body and ignore it
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, done) => done(null, {}))

  app.get('/ack/:key', {
    config: { access: 'public', rateLimit: { max: 60, timeWindow: '1 minute' } },
    schema: { hide: true, params: KeyParams },
    errorHandler: (_error, _request, reply) => page(reply, 404, unusable.unknown[0], `<p>${unusable.unknown[1]}</p>`),
  }, async (request, reply) => {
    const link = await app.acknowledgeLinks.look(request.params.key)
    if (link.kind !== 'usable') return page(reply, link.kind === 'unknown' ? 404 : 410, unusable[link.kind][0], `<p>${unusable[link.kind][1]}</p>`)
    const alert = await app.alerts.get(link.alertId).catch(() => undefined)
    if (!alert) return page(reply, 404, 'This alert no longer exists', '')
    const what = `${alert.severity.toUpperCase()}: ${alert.incident?.name ?? 'a deleted incident'} in ${alert.area.name}`
    if (alert.state !== 'open') {
      const why = alert.state === 'acknowledged' ? `${alert.acknowledged_by?.username ?? 'someone'} acknowledged it at ${alert.acknowledged_at}` : `it was resolved (${alert.resolved_reason?.replace(/_/g, ' ')})`
      return page(reply, 200, 'Nothing to acknowledge', `<p>${escape(what)}</p><p>No longer open: ${escape(why)}.</p>`)
    }
    return page(reply, 200, 'Acknowledge this alert?', `<p>${escape(what)}</p><p>Fired at ${escape(alert.fired)}. You will acknowledge it as <strong>${escape(link.username)}</strong>.</p>
<form method="post" action="/ack/${request.params.key}"><button type="submit">Acknowledge</button></form>`)
  })

  app.post('/ack/:key', {
    config: { access: 'public', rateLimit: { max: 60, timeWindow: '1 minute' } },
    schema: { hide: true, params: KeyParams },
    errorHandler: (error, request, reply) => {
      if (error instanceof ConflictError) return page(reply, 409, 'Nothing to acknowledge', `<p>${escape(error.message)}.</p>`)
      if (error instanceof NotFoundError) return page(reply, 404, 'This alert no longer exists', '')
      if ((error as { validation?: unknown }).validation) return page(reply, 404, unusable.unknown[0], `<p>${unusable.unknown[1]}</p>`)
      request.log.error({ err: error }, 'acknowledge link failed')
      return page(reply, 500, 'Something went wrong', '<p>The alert was not acknowledged. Try again, or acknowledge it in the dashboard.</p>')
    },
  }, async (request, reply) => {
    const link = await app.acknowledgeLinks.look(request.params.key)
    if (link.kind !== 'usable') return page(reply, link.kind === 'unknown' ? 404 : 410, unusable[link.kind][0], `<p>${unusable[link.kind][1]}</p>`)
    // the link is spent first: of two clicks at once, one acknowledges
    if (!(await app.acknowledgeLinks.use(request.params.key))) return page(reply, 410, unusable.used[0], `<p>${unusable.used[1]}</p>`)
    const alert = await app.alerts.acknowledge(link.alertId, { id: link.userId, username: link.username }, 'acknowledged from the alert mail')
    return page(reply, 200, 'Acknowledged', `<p>${escape(`${alert.severity.toUpperCase()}: ${alert.incident?.name ?? 'a deleted incident'} in ${alert.area.name}`)}</p><p>You took it. Everyone's dashboard shows it acknowledged by ${escape(link.username)}.</p>`)
  })
}

export default acknowledgePage
