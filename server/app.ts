import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import cookie from '@fastify/cookie'
import websocket from '@fastify/websocket'
import type { AppConfig } from './config.ts'
import type { DatabaseHandle } from '../db/connect.ts'
import { loggerOptions } from './logging.ts'
import { validatorCompiler } from './http/validation.ts'
import { requireDeclaredAccess } from './http/route-access.ts'
import securityHeaders from './plugins/external/security-headers.ts'
import rateLimit from './plugins/external/rate-limit.ts'
import openapi from './plugins/external/openapi.ts'
import errorHandler from './plugins/app/error-handler.ts'
import jsonBody from './plugins/app/json-body.ts'
import database from './plugins/app/database.ts'
import repositories from './plugins/app/repositories.ts'
import firstAdmin from './plugins/app/first-admin.ts'
import auth from './plugins/app/auth.ts'
import refusedUpgrades from './plugins/app/refused-upgrades.ts'
import live from './live/live-plugin.ts'
import jobs from './jobs/jobs-plugin.ts'
import dashboardRoutes from './routes/dashboard.ts'
import authRoutes from './routes/api/auth.ts'
import userRoutes from './routes/api/users.ts'
import myPasswordRoutes from './routes/api/my-password.ts'
import incidentRoutes from './routes/api/incidents.ts'
import areaRoutes from './routes/api/areas.ts'
import alertRoutes from './routes/api/alerts.ts'
import historyRoutes from './routes/api/history.ts'
import subscriptionRoutes from './routes/api/subscription.ts'
import deliveryRoutes from './routes/api/deliveries.ts'
import webhookRoutes from './routes/api/webhooks.ts'
import acknowledgePage from './routes/acknowledge-page.ts'
import invitationRoutes from './routes/api/invitations.ts'
import invitationPage from './routes/invitation-page.ts'
import healthRoutes from './routes/api/health.ts'

export interface BuildOptions {
  /** log destination (tests capture logs to prove what never appears in them) */
  logStream?: DestinationStream
  /** where one-time console messages go (the first admin's password) */
  announce?: (text: string) => void
  /** an already opened database (the embedded default is opened first to hold its lock) */
  database?: DatabaseHandle
}

/**
 * Fastify's defaults leave a request that never finishes open forever (it sets
 * Node's requestTimeout to 0). Node cuts a request whose headers and body have
 * not all arrived by sweeping its open connections every
 * connectionsCheckingInterval (30 s by default: sweep ten times per timeout
 * instead), and only when headersTimeout is not longer than requestTimeout:
 * Fastify sets requestTimeout after the server is made, which leaves Node's
 * 60 s headersTimeout in place and so disables any shorter requestTimeout.
 * Both go to the server's constructor. A socket upgraded at /ws leaves the
 * sweep, and ws clears its idle timer on upgrade.
 */
function httpTimeouts(timeouts: AppConfig['timeouts']) {
  return {
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.connectionMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.requestMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.round(timeouts.requestMs / 10))),
    },
  }
}

/** The whole server as one factory, so tests can start as many instances as they need. */
export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    bodyLimit: config.bodyLimit,
    ...httpTimeouts(config.timeouts),
    trustProxy: config.trustProxy,
    // the embedded database loads PGlite and PostGIS (WebAssembly) in its
    // plugin, which on a busy or slow machine takes longer than Fastify's
    // default 10 s for one plugin
    pluginTimeout: 120_000,
    // graceful shutdown: finish in-flight requests, refuse new ones
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  // first, so it sees every route: one without an access declaration stops the start
  await app.register(requireDeclaredAccess)
  await app.register(errorHandler)
  await app.register(securityHeaders, { tileUrl: config.tiles.url, https: config.cookieSecure })
  await app.register(jsonBody)
  await app.register(cookie)
  await app.register(rateLimit)
  await app.register(openapi)

  await app.register(database, { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, handle: options.database })
  await app.register(repositories, { session: config.session, saveConcurrency: config.dbSaveConcurrency })
  await app.register(firstAdmin, {
    adminPassword: config.adminPassword,
    announce: options.announce ?? ((text) => process.stdout.write(text)),
  })
  // revocations made on another instance reach HTTP and sockets within the same bound
  await app.register(auth, { sessionCacheMs: config.ws.sessionCheckMs, allowedOrigins: config.allowedOrigins })
  // before any route, so it can refuse upgrades on routes that are not sockets
  await app.register(websocket, {
    // ws would keep every socket in a set of its own, with a close listener
    // each to take it out; the live plugin's fan-out already holds every open
    // socket, and closes them on shutdown ("going away", so clients reconnect
    // elsewhere). Idle sockets live for hours, thousands at a time.
    options: { maxPayload: config.ws.maxFrameBytes, clientTracking: false },
    // Its own preClose would close every tracked socket without a code: it
    // only has to stop taking upgrades.
    preClose(done) {
      this.websocketServer.close(done)
    },
  })
  await app.register(refusedUpgrades)

  await app.register(healthRoutes)
  await app.register(authRoutes, {
    cookieSecure: config.cookieSecure,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
    loginUsernameRateLimitPerMinute: config.loginUsernameRateLimitPerMinute,
    absoluteSeconds: config.session.absoluteSeconds,
  })
  await app.register(userRoutes)
  await app.register(myPasswordRoutes, {
    rateLimitPerMinute: config.loginRateLimitPerMinute,
    failuresPerUserPerMinute: config.loginUsernameRateLimitPerMinute,
  })
  await app.register(incidentRoutes)
  await app.register(areaRoutes)
  await app.register(alertRoutes)
  await app.register(historyRoutes)
  // everything after the commit: relay, stream, fan-out, /ws and /metrics
  await app.register(live, {
    redisUrl: config.redisUrl,
    historyLength: config.notificationHistory,
    relaySweepMs: config.relaySweepMs,
    allowedOrigins: config.allowedOrigins,
    sockets: config.ws,
  })
  // the background half: deliveries, escalations, invitations (server/jobs/)
  await app.register(jobs, { config: config.jobs, redisUrl: config.redisUrl })
  await app.register(subscriptionRoutes)
  await app.register(deliveryRoutes)
  await app.register(webhookRoutes, { allowedHosts: config.jobs.webhookAllowedHosts })
  await app.register(acknowledgePage)
  const invitationOptions = { cookieSecure: config.cookieSecure, absoluteSeconds: config.session.absoluteSeconds, acceptRateLimitPerMinute: config.loginRateLimitPerMinute, queuedPerUser: config.jobs.queuedPerUser, ttlHours: config.jobs.inviteTtlHours }
  await app.register(invitationRoutes, invitationOptions)
  await app.register(invitationPage, invitationOptions)

  await app.register(dashboardRoutes, { tiles: config.tiles })
  return app
}
