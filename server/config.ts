import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'
import { parseTrustedProxies } from './http/trusted-proxies.ts'

// Every setting the server reads, read once, here. A bad value stops the
// start with a message naming the variable and the value.

const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './.data' }),
  /** comma-separated origins allowed to use the session cookie on /ws; default: the server's own */
  ALLOWED_ORIGINS: Type.Optional(Type.String({ pattern: '^(https?://[^,\\s]+)(,\\s*https?://[^,\\s]+)*$' })),
  SESSION_IDLE_SECONDS: Type.Integer({ minimum: 60, maximum: 31 * 86400, default: 8 * 3600 }),
  SESSION_ABSOLUTE_SECONDS: Type.Integer({ minimum: 60, maximum: 366 * 86400, default: 7 * 86400 }),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  /** a request's headers and body must have arrived within this; a stalled one is answered 408 and closed */
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  /** an open request's connection may stay silent (nothing read or written) this long, e.g. a client that stops reading its answer */
  CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
  /** an idle kept-alive connection is closed after this; above a proxy's usual 60 s, so the proxy closes first */
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 72_000 }),
  /** sign-in attempts per client address per minute: enough for a room of operators behind one NAT */
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000, default: 60 }),
  /** failed sign-ins per username per minute, from any address: what stops guessing one account */
  LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  /**
   * incident creates committed at once per instance; those that arrive
   * meanwhile are committed together (db/group-commit.ts). Default: 3, or
   * DB_POOL_SIZE if that is smaller
   */
  DB_SAVE_CONCURRENCY: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  /** the reverse proxies' addresses or CIDR ranges, comma-separated: their X-Forwarded-* are believed (server/http/trusted-proxies.ts) */
  TRUST_PROXY: Type.Optional(Type.String()),
  /** mark the session cookie Secure; set it when the dashboard is served over HTTPS */
  COOKIE_SECURE: Type.Boolean({ default: false }),
  /** base map tiles; {s} {z} {x} {y} as Leaflet takes them */
  TILE_URL: Type.String({ minLength: 1, default: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png' }),
  TILE_ATTRIBUTION: Type.String({ default: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors' }),
  /** notifications kept for replay to reconnecting clients (Redis MAXLEN ~) */
  NOTIFICATION_HISTORY: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 10_000 }),
  RELAY_SWEEP_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  WS_MAX_FRAME_BYTES: Type.Integer({ minimum: 128, maximum: 1024 * 1024, default: 4096 }),
  WS_MAX_BUFFERED_BYTES: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 }),
  /** how long a socket's unsent output may stay over WS_MAX_BUFFERED_BYTES before it is cut off */
  WS_SLOW_GRACE_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  /**
   * open sockets one session may hold on an instance (a tab each); the next
   * upgrade is refused with 429. Each socket may hold WS_MAX_BUFFERED_BYTES of
   * output plus a page of replay, so these caps bound the memory per user
   */
  WS_MAX_SOCKETS_PER_SESSION: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
  /** open sockets one user may hold on an instance, all sessions together: two sessions' worth (a desk and a phone) */
  WS_MAX_SOCKETS_PER_USER: Type.Integer({ minimum: 1, maximum: 10_000, default: 40 }),
  WS_PING_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  SESSION_CHECK_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 500 }),
  /** the mail server alerts and invitations go through: smtp://user:pass@host:587 or smtps://…; unset: nothing is mailed (those deliveries fail, saying so) */
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ minLength: 3, maxLength: 254, default: 'Incident tracker <alerts@localhost>' }),
  /** the dashboard's address as people reach it, for links in mail; default http://HOST:PORT */
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  /** comma-separated host names or addresses webhooks may reach although they are private, loopback or link-local */
  WEBHOOK_ALLOWED_HOSTS: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]_-]+(,\\s*[A-Za-z0-9.:\\[\\]_-]+)*$' })),
  INVITE_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 24 * 90, default: 72 }),
  /** how long the one-click acknowledge link in an alert mail works */
  ACK_LINK_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 24 }),
  DELIVERY_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  /** attempts per delivery (and invitation mail) before it is marked failed */
  DELIVERY_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
  /** the first retry waits about this long, each next twice as long (with jitter), up to DELIVERY_MAX_BACKOFF_MS */
  DELIVERY_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 2000 }),
  DELIVERY_MAX_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 10 * 60_000 }),
  /** one SMTP send or webhook POST may take this long before the attempt counts as failed */
  DELIVERY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000 }),
  /** jobs one worker (or the in-process engine) runs at once */
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
  /** how often the rows that say what must be sent are looked at again, besides after each save */
  JOB_DISPATCH_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  /** a job whose worker stopped answering for this long is run again by another */
  JOB_LOCK_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 30_000 }),
  /** run the jobs inside the server; default: yes on the embedded default (no REDIS_URL), no with Redis (run npm run worker) */
  JOBS_IN_PROCESS: Type.Optional(Type.Boolean()),
  /** invitations and retries one user may have waiting at once */
  JOBS_QUEUED_PER_USER: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
})
type Env = Static<typeof EnvSchema>

export interface AppConfig {
  port: number
  host: string
  databaseUrl?: string | undefined
  redisUrl?: string | undefined
  dataDir: string
  /** empty: only the server's own origin (the Host header) may use the cookie on /ws */
  allowedOrigins: string[]
  session: { idleSeconds: number; absoluteSeconds: number }
  adminPassword?: string | undefined
  logLevel: string
  bodyLimit: number
  /** HTTP requests only: a socket upgraded at /ws is no longer subject to them */
  timeouts: { requestMs: number; connectionMs: number; keepAliveMs: number }
  loginRateLimitPerMinute: number
  loginUsernameRateLimitPerMinute: number
  dbPoolSize: number
  dbSaveConcurrency: number
  /** false: no proxy; X-Forwarded-* are ignored */
  trustProxy: string[] | false
  cookieSecure: boolean
  notificationHistory: number
  tiles: { url: string; attribution: string }
  relaySweepMs: number
  ws: {
    maxFrameBytes: number
    maxBufferedBytes: number
    slowGraceMs: number
    pingIntervalMs: number
    sessionCheckMs: number
    maxSocketsPerSession: number
    maxSocketsPerUser: number
  }
  jobs: JobsConfig
}

/** The worker's settings (server/jobs/): read by the server and by `npm run worker` alike. */
export interface JobsConfig {
  smtpUrl?: string | undefined
  mailFrom: string
  publicUrl: string
  webhookAllowedHosts: string[]
  inviteTtlHours: number
  ackLinkTtlHours: number
  /** deliveries sent or failed, and escalations decided, are removed after this many days (housekeeping.ts) */
  retentionDays: number
  policy: { attempts: number; backoffMs: number; maxBackoffMs: number }
  timeoutMs: number
  concurrency: number
  dispatchMs: number
  lockMs: number
  inProcess: boolean
  queuedPerUser: number
}

export class ConfigError extends Error {}

/**
 * Creates committed at once when DB_SAVE_CONCURRENCY is not set. Measured on
 * 2 cores (npm run bench, geofence): a few in flight sustain the most saves
 * per second; one per pooled connection (so no group ever forms) clearly
 * fewer (docs/performance-log.md).
 */
const DEFAULT_SAVE_CONCURRENCY = 3

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  // env-schema coerces in place; give it a copy holding only our keys, without empty strings
  const data: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') data[key] = value
  }
  let parsed: Env
  try {
    // env: false: read only what was passed (tests pass their own), not process.env as well
    parsed = envSchema<Env>({ schema: EnvSchema as object, data: { ...data }, env: false })
  } catch (error) {
    throw new ConfigError(describeEnvError(error, data))
  }
  if (parsed.SESSION_IDLE_SECONDS > parsed.SESSION_ABSOLUTE_SECONDS) {
    throw new ConfigError(
      `invalid configuration: SESSION_IDLE_SECONDS (${parsed.SESSION_IDLE_SECONDS}) must not exceed SESSION_ABSOLUTE_SECONDS (${parsed.SESSION_ABSOLUTE_SECONDS})`,
    )
  }
  if (parsed.DB_SAVE_CONCURRENCY !== undefined && parsed.DB_SAVE_CONCURRENCY > parsed.DB_POOL_SIZE) {
    throw new ConfigError(
      `invalid configuration: DB_SAVE_CONCURRENCY (${parsed.DB_SAVE_CONCURRENCY}) must not exceed DB_POOL_SIZE (${parsed.DB_POOL_SIZE})`,
    )
  }
  if (parsed.WS_MAX_SOCKETS_PER_SESSION > parsed.WS_MAX_SOCKETS_PER_USER) {
    throw new ConfigError(
      `invalid configuration: WS_MAX_SOCKETS_PER_SESSION (${parsed.WS_MAX_SOCKETS_PER_SESSION}) must not exceed WS_MAX_SOCKETS_PER_USER (${parsed.WS_MAX_SOCKETS_PER_USER})`,
    )
  }
  if (parsed.DELIVERY_BACKOFF_MS > parsed.DELIVERY_MAX_BACKOFF_MS) {
    throw new ConfigError(
      `invalid configuration: DELIVERY_BACKOFF_MS (${parsed.DELIVERY_BACKOFF_MS}) must not exceed DELIVERY_MAX_BACKOFF_MS (${parsed.DELIVERY_MAX_BACKOFF_MS})`,
    )
  }
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    databaseUrl: parsed.DATABASE_URL,
    redisUrl: parsed.REDIS_URL,
    dataDir: parsed.DATA_DIR,
    allowedOrigins: parsed.ALLOWED_ORIGINS ? parsed.ALLOWED_ORIGINS.split(',').map((o) => o.trim().replace(/\/$/, '')) : [],
    session: { idleSeconds: parsed.SESSION_IDLE_SECONDS, absoluteSeconds: parsed.SESSION_ABSOLUTE_SECONDS },
    adminPassword: parsed.ADMIN_PASSWORD,
    logLevel: parsed.LOG_LEVEL,
    bodyLimit: parsed.BODY_LIMIT_BYTES,
    timeouts: { requestMs: parsed.REQUEST_TIMEOUT_MS, connectionMs: parsed.CONNECTION_TIMEOUT_MS, keepAliveMs: parsed.KEEP_ALIVE_TIMEOUT_MS },
    loginRateLimitPerMinute: parsed.LOGIN_RATE_LIMIT_PER_MINUTE,
    loginUsernameRateLimitPerMinute: parsed.LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE,
    dbPoolSize: parsed.DB_POOL_SIZE,
    dbSaveConcurrency: parsed.DB_SAVE_CONCURRENCY ?? Math.min(DEFAULT_SAVE_CONCURRENCY, parsed.DB_POOL_SIZE),
    trustProxy: trustedProxies(parsed.TRUST_PROXY),
    cookieSecure: parsed.COOKIE_SECURE,
    notificationHistory: parsed.NOTIFICATION_HISTORY,
    tiles: { url: parsed.TILE_URL, attribution: parsed.TILE_ATTRIBUTION },
    relaySweepMs: parsed.RELAY_SWEEP_MS,
    ws: {
      maxFrameBytes: parsed.WS_MAX_FRAME_BYTES,
      maxBufferedBytes: parsed.WS_MAX_BUFFERED_BYTES,
      slowGraceMs: parsed.WS_SLOW_GRACE_MS,
      pingIntervalMs: parsed.WS_PING_INTERVAL_MS,
      sessionCheckMs: parsed.SESSION_CHECK_MS,
      maxSocketsPerSession: parsed.WS_MAX_SOCKETS_PER_SESSION,
      maxSocketsPerUser: parsed.WS_MAX_SOCKETS_PER_USER,
    },
    jobs: {
      smtpUrl: parsed.SMTP_URL,
      mailFrom: parsed.MAIL_FROM,
      publicUrl: (parsed.PUBLIC_URL ?? `http://${parsed.HOST.includes(':') ? `[${parsed.HOST}]` : parsed.HOST}:${parsed.PORT}`).replace(/\/+$/, ''),
      webhookAllowedHosts: parsed.WEBHOOK_ALLOWED_HOSTS ? parsed.WEBHOOK_ALLOWED_HOSTS.split(',').map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, '')) : [],
      inviteTtlHours: parsed.INVITE_TTL_HOURS,
      ackLinkTtlHours: parsed.ACK_LINK_TTL_HOURS,
      retentionDays: parsed.DELIVERY_RETENTION_DAYS,
      policy: { attempts: parsed.DELIVERY_ATTEMPTS, backoffMs: parsed.DELIVERY_BACKOFF_MS, maxBackoffMs: parsed.DELIVERY_MAX_BACKOFF_MS },
      timeoutMs: parsed.DELIVERY_TIMEOUT_MS,
      concurrency: parsed.WORKER_CONCURRENCY,
      dispatchMs: parsed.JOB_DISPATCH_MS,
      lockMs: parsed.JOB_LOCK_MS,
      inProcess: parsed.JOBS_IN_PROCESS ?? !parsed.REDIS_URL,
      queuedPerUser: parsed.JOBS_QUEUED_PER_USER,
    },
  }
}

function trustedProxies(value: string | undefined): string[] | false {
  try {
    return parseTrustedProxies(value)
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`)
  }
}

const SECRET_KEYS = new Set(['ADMIN_PASSWORD', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL'])

function describeEnvError(error: unknown, data: Record<string, string>): string {
  const errors = (error as { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] }).errors
  if (!errors?.length) return `invalid configuration: ${(error as Error).message}`
  const lines = errors.map((e) => {
    const key = e.instancePath.split('/')[1] ?? String(e.params?.missingProperty ?? '')
    // connection URLs carry passwords: name the variable, never echo it
    const shown = SECRET_KEYS.has(key) ? '(value hidden)' : JSON.stringify(data[key])
    return `${key} ${e.message ?? 'is invalid'} (got ${shown})`
  })
  return `invalid configuration: ${[...new Set(lines)].join('; ')}`
}
