// A minimal live client: signs in, opens the socket at /ws and prints every
// frame it receives as one JSON line on stdout (status goes to stderr). After
// a drop it reconnects with `since` and `epoch`, so nothing is missed. The
// protocol is in docs/live-updates.md; the frames are typed in
// contracts/live.ts.
//
//   node examples/live-client.mjs --url http://localhost:3000 --username ana --password long-password
//   node examples/live-client.mjs --session-key <key>
//
// Each option can come from the environment instead: INCIDENTS_URL,
// INCIDENTS_USERNAME, INCIDENTS_PASSWORD, INCIDENTS_SESSION_KEY.

import { parseArgs } from 'node:util'
import WebSocket from 'ws'

const USAGE = `usage: node examples/live-client.mjs [--url <http(s) url>] (--username <name> --password <password> | --session-key <key>)`
/** the session ended (sign-out, revocation, expiry): reconnecting would not help */
const SESSION_ENDED = 1008
const RECONNECT_MS = 1000

function fail(message, code = 2) {
  console.error(`live-client: ${message}`)
  if (code === 2) console.error(USAGE)
  process.exit(code)
}

function readOptions() {
  let values
  try {
    ;({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        'session-key': { type: 'string' },
        help: { type: 'boolean' },
      },
    }))
  } catch (error) {
    fail(error.message) // names the option: "Unknown option '--user'", "Option '--url <value>' argument missing"
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const env = process.env
  const options = {
    url: values.url ?? env.INCIDENTS_URL ?? 'http://localhost:3000',
    username: values.username ?? env.INCIDENTS_USERNAME,
    password: values.password ?? env.INCIDENTS_PASSWORD,
    sessionKey: values['session-key'] ?? env.INCIDENTS_SESSION_KEY,
  }
  let base
  try {
    base = new URL(options.url)
  } catch {
    fail(`--url (or INCIDENTS_URL): not a URL: ${JSON.stringify(options.url)}`)
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') fail(`--url (or INCIDENTS_URL): must be http or https: ${JSON.stringify(options.url)}`)
  if (options.sessionKey === undefined) {
    if (options.username === undefined && options.password === undefined) fail('give --session-key, or --username and --password')
    if (options.username === undefined) fail('--password given without --username')
    if (options.password === undefined) fail('--username given without --password')
  }
  return { ...options, base }
}

async function signIn(base, username, password) {
  const response = await fetch(new URL('/api/auth/login', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  }).catch((error) => fail(`cannot reach ${base.origin}: ${error.cause?.message ?? error.message}`, 1))
  if (!response.ok) fail(`sign-in as ${JSON.stringify(username)} failed: ${response.status} ${await response.text()}`, 1)
  return (await response.json()).session_key
}

const options = readOptions()
const sessionKey = options.sessionKey ?? (await signIn(options.base, options.username, options.password))

/** the last stream id seen, and the history (`epoch`) it belongs to: where a reconnect resumes */
let last = null
let epoch = null
/** delivery is at-least-once: an `event` already printed is dropped */
const printed = new Set()
let socket

function open() {
  const url = new URL('/ws', options.base)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  if (last) url.searchParams.set('since', last)
  if (last && epoch) url.searchParams.set('epoch', epoch)
  socket = new WebSocket(url, { headers: { authorization: `Bearer ${sessionKey}` } })

  socket.on('message', (data) => {
    const frame = JSON.parse(String(data))
    if (frame.type === 'ready') {
      last ??= frame.id // seen nothing yet: resume from where this socket started
      epoch = frame.epoch
    } else if (frame.type === 'reset') {
      // Our place in the history is gone. A client that keeps state (a map)
      // reloads it over REST here; this one only prints, so it carries on
      // from the position the next `ready` gives.
      last = null
    } else {
      last = frame.id
      if (printed.has(frame.event)) return
      printed.add(frame.event)
      if (printed.size > 10_000) printed.delete(printed.values().next().value) // duplicates are recent: forget the oldest
    }
    console.log(JSON.stringify(frame))
  })

  socket.on('unexpected-response', (_request, response) => {
    // the upgrade was refused: 401/403 will not change by retrying, 429 (too many sockets) may
    if (response.statusCode === 401 || response.statusCode === 403) fail(`the server refused the socket: ${response.statusCode}`, 1)
    console.error(`live-client: the server refused the socket: ${response.statusCode}; retrying`)
    socket.terminate() // closes it, and 'close' reconnects
  })
  socket.on('error', (error) => console.error(`live-client: ${error.message}`))
  socket.on('close', (code) => {
    if (code === SESSION_ENDED) fail('the session ended: sign in again', 1)
    console.error(`live-client: socket closed (${code}); reconnecting`)
    setTimeout(open, RECONNECT_MS)
  })
}

open()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    socket.removeAllListeners('close')
    socket.close()
    process.exit(0)
  })
}
