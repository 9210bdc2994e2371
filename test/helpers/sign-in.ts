import type { FastifyInstance } from 'fastify'

// The one way the tests sign in: POST /api/auth/login, to an app in this
// process (inject) or to a server at a URL (fetch), so what a session is made
// of (key, cookie, user) is read in one place.

/** An app built in this process, or the base URL (http://…) of a server process. */
export type SignInTarget = FastifyInstance | string

export interface Cookie {
  name: string
  value: string
  path?: string
  httpOnly?: boolean
  secure?: boolean
  sameSite?: string
}

export interface SignInAnswer {
  status: number
  headers: Record<string, string | undefined>
  /** the JSON body: `{ session_key, user }` on 200, a problem otherwise */
  body: any
  cookies: Cookie[]
}

export interface Session {
  key: string
  user: { id: number; username: string; role: string }
  /** the `session` cookie the answer set */
  cookie: Cookie | undefined
}

export interface SignInOptions {
  /** the client address an in-process app sees (inject only) */
  remoteAddress?: string
  headers?: Record<string, string>
}

/** One sign-in attempt, whatever its answer. */
export async function attemptSignIn(target: SignInTarget, username: string, password: string, options: SignInOptions = {}): Promise<SignInAnswer> {
  if (typeof target !== 'string') {
    const response = await target.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username, password },
      headers: options.headers ?? {},
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
    })
    return {
      status: response.statusCode,
      headers: Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, value === undefined ? undefined : String(value)])),
      body: parseJson(response.body),
      cookies: response.cookies.map(({ name, value, path, httpOnly, secure, sameSite }) => ({
        name,
        value,
        ...(path === undefined ? {} : { path }),
        ...(httpOnly === undefined ? {} : { httpOnly }),
        ...(secure === undefined ? {} : { secure }),
        ...(sameSite === undefined ? {} : { sameSite }),
      })),
    }
  }
  if (options.remoteAddress) throw new Error('remoteAddress is for an app in this process; a server at a URL sees the test’s own address')
  const response = await fetch(`${target}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({ username, password }),
  })
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    body: parseJson(await response.text()),
    cookies: response.headers.getSetCookie().map(parseSetCookie),
  }
}

/** Signs in, or throws with the status and body; the session the answer holds. */
export async function signIn(target: SignInTarget, username: string, password: string, options: SignInOptions = {}): Promise<Session> {
  const answer = await attemptSignIn(target, username, password, options)
  if (answer.status !== 200) throw new Error(`sign-in of ${username} failed: ${answer.status} ${JSON.stringify(answer.body)}`)
  const body = answer.body as { session_key: string; user: Session['user'] }
  return { key: body.session_key, user: body.user, cookie: answer.cookies.find((c) => c.name === 'session') }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** `name=value; Path=/; HttpOnly; SameSite=Strict`, as set-cookie-parser (inject's parser) reads it. */
function parseSetCookie(header: string): Cookie {
  const [pair = '', ...attributes] = header.split(';').map((part) => part.trim())
  const at = pair.indexOf('=')
  const cookie: Cookie = { name: pair.slice(0, at), value: decodeURIComponent(pair.slice(at + 1)) }
  for (const attribute of attributes) {
    const [name = '', value = ''] = attribute.split('=')
    const key = name.toLowerCase()
    if (key === 'path') cookie.path = value
    else if (key === 'httponly') cookie.httpOnly = true
    else if (key === 'secure') cookie.secure = true
    else if (key === 'samesite') cookie.sameSite = value
  }
  return cookie
}
