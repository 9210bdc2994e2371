import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError, loadConfig } from '../../../server/config.ts'
import { launchServer } from '../../helpers/server-process.ts'

// loadConfig reads every setting once; a bad value must stop the start with a
// message that names the variable and the value, except for the variables that
// can hold secrets (connection URLs, the admin password), whose values are
// never echoed.


/** The ConfigError loadConfig throws for this environment (fails the test if it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))} but should have refused it`)
}

describe('loadConfig defaults', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  // toMatchObject: settings are still being added; every one named here is checked exactly
  it('gives the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: './.data',
      allowedOrigins: [],
      session: { idleSeconds: 8 * 3600, absoluteSeconds: 7 * 86400 },
      adminPassword: undefined,
      logLevel: 'info',
      bodyLimit: 1024 * 1024,
      loginRateLimitPerMinute: 60,
      loginUsernameRateLimitPerMinute: 10,
      dbPoolSize: 10,
      trustProxy: false,
      cookieSecure: false,
      timeouts: { requestMs: 30_000, connectionMs: 60_000, keepAliveMs: 72_000 },
    })
  })

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '', HOST: '', DATABASE_URL: '', ADMIN_PASSWORD: '', SESSION_IDLE_SECONDS: '' })
    expect(config.port).toBe(3000)
    expect(config.logLevel).toBe('info')
    expect(config.host).toBe('127.0.0.1')
    expect(config.databaseUrl).toBeUndefined()
    expect(config.adminPassword).toBeUndefined()
    expect(config.session.idleSeconds).toBe(8 * 3600)
  })

  it('reads the environment it is given, not process.env', () => {
    // the test helpers build configurations from explicit objects; a stray
    // variable in the test process must not leak into them
    vi.stubEnv('PORT', '4321')
    vi.stubEnv('DATABASE_URL', 'postgres://someone@elsewhere.invalid/db')
    const config = loadConfig({})
    expect(config.port).toBe(3000)
    expect(config.databaseUrl).toBeUndefined()
  })

  it('treats an empty variable in the process environment as unset (`PORT= npm start`)', () => {
    vi.stubEnv('PORT', '')
    vi.stubEnv('LOG_LEVEL', '')
    const config = loadConfig(process.env)
    expect(config.port).toBe(3000)
    expect(config.logLevel).toBe('info')
  })

  it('parses and coerces valid values', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://app@db:5432/tracker',
      REDIS_URL: 'redis://cache:6379',
      DATA_DIR: '/var/lib/tracker',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example/',
      SESSION_IDLE_SECONDS: '600',
      SESSION_ABSOLUTE_SECONDS: '600',
      ADMIN_PASSWORD: 'a-long-enough-password',
      LOG_LEVEL: 'warn',
      BODY_LIMIT_BYTES: '2048',
      LOGIN_RATE_LIMIT_PER_MINUTE: '5',
      LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE: '4',
      DB_POOL_SIZE: '3',
      TRUST_PROXY: '10.0.0.2, 192.168.0.0/16',
      COOKIE_SECURE: 'true',
      REQUEST_TIMEOUT_MS: '5000',
      CONNECTION_TIMEOUT_MS: '6000',
      KEEP_ALIVE_TIMEOUT_MS: '7000',
    })
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://app@db:5432/tracker',
      redisUrl: 'redis://cache:6379',
      dataDir: '/var/lib/tracker',
      allowedOrigins: ['https://a.example', 'https://b.example'],
      session: { idleSeconds: 600, absoluteSeconds: 600 },
      adminPassword: 'a-long-enough-password',
      logLevel: 'warn',
      bodyLimit: 2048,
      loginRateLimitPerMinute: 5,
      loginUsernameRateLimitPerMinute: 4,
      dbPoolSize: 3,
      trustProxy: ['10.0.0.2', '192.168.0.0/16'],
      cookieSecure: true,
      timeouts: { requestMs: 5000, connectionMs: 6000, keepAliveMs: 7000 },
    })
  })
})

describe('loadConfig refuses bad values, naming the variable and the value', () => {
  it.each([
    ['PORT', '99999'],
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['SESSION_IDLE_SECONDS', '10'],
    ['SESSION_IDLE_SECONDS', 'soon'],
    ['SESSION_ABSOLUTE_SECONDS', '999999999'],
    ['LOG_LEVEL', 'verbose'],
    ['DB_POOL_SIZE', '0'],
    ['DB_SAVE_CONCURRENCY', '0'],
    ['DB_SAVE_CONCURRENCY', 'many'],
    ['TRUST_PROXY', 'maybe'],
    ['ALLOWED_ORIGINS', 'example.com'],
    ['LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE', '0'],
    ['LOGIN_USERNAME_RATE_LIMIT_PER_MINUTE', 'ten'],
    ['REQUEST_TIMEOUT_MS', '0'],
    ['REQUEST_TIMEOUT_MS', '30s'],
    ['CONNECTION_TIMEOUT_MS', '-5'],
    ['KEEP_ALIVE_TIMEOUT_MS', 'forever'],
    ['WS_MAX_SOCKETS_PER_SESSION', '0'],
    ['WS_MAX_SOCKETS_PER_SESSION', '2.5'],
    ['WS_MAX_SOCKETS_PER_USER', 'lots'],
    ['WS_MAX_SOCKETS_PER_USER', '100000'],
    ['DELIVERY_RETENTION_DAYS', '0'],
    ['DELIVERY_RETENTION_DAYS', 'a month'],
  ])('%s=%s', (name, value) => {
    const error = configError({ [name]: value })
    expect(error.message).toContain(name)
    expect(error.message).toContain(JSON.stringify(value))
  })

  it('names every bad variable at once', () => {
    const error = configError({ PORT: 'abc', LOG_LEVEL: 'verbose' })
    expect(error.message).toContain('PORT')
    expect(error.message).toContain('"abc"')
    expect(error.message).toContain('LOG_LEVEL')
    expect(error.message).toContain('"verbose"')
  })

  it('refuses an idle timeout longer than the absolute session lifetime', () => {
    const error = configError({ SESSION_IDLE_SECONDS: '7200', SESSION_ABSOLUTE_SECONDS: '3600' })
    expect(error.message).toContain('SESSION_IDLE_SECONDS')
    expect(error.message).toContain('7200')
    expect(error.message).toContain('SESSION_ABSOLUTE_SECONDS')
    expect(error.message).toContain('3600')
  })

  it('refuses more creates at once than the pool has connections', () => {
    const error = configError({ DB_POOL_SIZE: '4', DB_SAVE_CONCURRENCY: '5' })
    expect(error.message).toContain('DB_SAVE_CONCURRENCY (5)')
    expect(error.message).toContain('DB_POOL_SIZE (4)')
  })

  it('refuses more sockets per session than per user', () => {
    const error = configError({ WS_MAX_SOCKETS_PER_SESSION: '30', WS_MAX_SOCKETS_PER_USER: '25' })
    expect(error.message).toContain('WS_MAX_SOCKETS_PER_SESSION (30)')
    expect(error.message).toContain('WS_MAX_SOCKETS_PER_USER (25)')
  })

  it('caps sockets at 20 per session and 40 per user unless told otherwise', () => {
    expect(loadConfig({}).ws).toMatchObject({ maxSocketsPerSession: 20, maxSocketsPerUser: 40 })
    expect(loadConfig({ WS_MAX_SOCKETS_PER_SESSION: '5', WS_MAX_SOCKETS_PER_USER: '5' }).ws).toMatchObject({ maxSocketsPerSession: 5, maxSocketsPerUser: 5 })
  })

  it('defaults the creates at once to 3, or to a smaller pool', () => {
    expect(loadConfig({}).dbSaveConcurrency).toBe(3)
    expect(loadConfig({ DB_POOL_SIZE: '2' }).dbSaveConcurrency).toBe(2)
    expect(loadConfig({ DB_POOL_SIZE: '20', DB_SAVE_CONCURRENCY: '8' }).dbSaveConcurrency).toBe(8)
  })

  it('accepts an idle timeout equal to the absolute lifetime', () => {
    expect(loadConfig({ SESSION_IDLE_SECONDS: '3600', SESSION_ABSOLUTE_SECONDS: '3600' }).session).toEqual({
      idleSeconds: 3600,
      absoluteSeconds: 3600,
    })
  })
})

describe('TRUST_PROXY names the proxies whose X-Forwarded-For is believed', () => {
  it.each([
    ['10.0.0.2', ['10.0.0.2']],
    ['127.0.0.1,10.0.0.0/8', ['127.0.0.1', '10.0.0.0/8']],
    ['::1, fd00::/8', ['::1', 'fd00::/8']],
    ['loopback', ['loopback']],
  ])('accepts %s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected)
  })

  it('trusts no proxy when unset or false', () => {
    expect(loadConfig({}).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
  })

  it.each([
    ['true', /must not be true/],
    ['1', /must not be a hop count/],
    ['0.0.0.0/0', /must not trust every address/],
    ['::/0', /must not trust every address/],
    ['10.0.0.0/33', /prefix that is not 0 to 32/],
    ['10.0.0.300', /must list IP addresses/],
    ['10.0.0.2,proxy.internal', /must list IP addresses/],
  ])('refuses %s, saying what to set instead', (value, reason) => {
    const error = configError({ TRUST_PROXY: value })
    expect(error.message).toContain(`TRUST_PROXY`)
    expect(error.message).toContain(JSON.stringify(value))
    expect(error.message).toMatch(reason)
    expect(error.message).toContain('set it to the address or CIDR range of your reverse proxy')
  })
})

describe('loadConfig never echoes values that may hold secrets', () => {
  const secret = 's3cr3t-Pa55w0rd'

  it.each([
    ['DATABASE_URL', `mysql://tracker:${secret}@db.internal:3306/tracker`],
    ['DATABASE_URL', `postgres:/tracker:${secret}@db.internal/tracker`],
    ['REDIS_URL', `http://:${secret}@cache.internal:6379`],
  ])('%s with a bad scheme', (name, value) => {
    const error = configError({ [name]: value })
    expect(error.message).toContain(name)
    expect(error.message.includes(secret), 'the secret appears in the message').toBe(false)
    expect(error.message.includes('db.internal') || error.message.includes('cache.internal'), 'the URL appears in the message').toBe(false)
  })

  it('ADMIN_PASSWORD too short', () => {
    const error = configError({ ADMIN_PASSWORD: 'Zq9#tK' })
    expect(error.message).toContain('ADMIN_PASSWORD')
    expect(error.message.includes('Zq9#tK'), 'the password appears in the message').toBe(false)
  })

  it('ADMIN_PASSWORD too long', () => {
    const password = `${secret}-`.repeat(20) // 320 characters
    const error = configError({ ADMIN_PASSWORD: password })
    expect(error.message).toContain('ADMIN_PASSWORD')
    expect(error.message.includes(secret), 'the password appears in the message').toBe(false)
  })

  it('a valid secret next to a bad variable is not echoed either', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: `postgres://tracker:${secret}@db.internal/tracker`, ADMIN_PASSWORD: secret })
    expect(error.message).toContain('PORT')
    expect(error.message.includes(secret), 'a secret appears in the message').toBe(false)
  })
})

describe('the real server process with a bad configuration', () => {
  let scratch: string | undefined
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true })
  })

  it('exits non-zero with the message on stderr and no stack trace', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'config-test-'))
    const dataDir = join(scratch, 'data')
    // only PORT and DATA_DIR: nothing of the test's own environment reaches it
    const server = await launchServer({ PORT: 'abc', DATA_DIR: dataDir })
    try {
      const { code } = await server.waitForExit(50_000)
      const stderr = server.stderr()
      expect(code, `stderr: ${stderr}`).not.toBe(0)
      expect(code).not.toBeNull()
      expect(stderr).toContain('PORT')
      expect(stderr).toContain('"abc"')
      expect(stderr).not.toMatch(/^\s+at /m)
      expect(stderr).not.toMatch(/ConfigError|\.ts:\d+/)
      expect(server.stdout()).toBe('')
      // it stopped before touching the data folder
      expect(existsSync(dataDir)).toBe(false)
    } finally {
      await server.kill()
    }
  }, 60_000)
})
