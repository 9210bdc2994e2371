import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, startTestServer, type TestServer } from '../../../helpers/test-server.ts'
import { connect, readyOf } from '../../../helpers/ws-client.ts'

// The periodic check of open sockets' sessions asks the database about the
// sessions it saw when it began. A socket that joins while that query is out
// was not asked about: it must not be taken for one whose session ended.

describe.each(BACKENDS)('the session check of open sockets, on %s', (backend) => {
  let server: TestServer
  let url: string
  beforeAll(async () => {
    server = await startTestServer(backend, { SESSION_CHECK_MS: '100' })
    url = `${(await server.listen()).replace('http', 'ws')}/ws`
  })
  afterAll(() => server?.close())

  it('keeps a socket that joined while the check was asking about the others', async () => {
    const first = await connect(`${url}?session_key=${(await server.user('viewer')).key}`)
    await readyOf(first)

    // hold the next check's query until a second socket, of a new session, has joined
    const sessions = server.app.sessions
    const original = sessions.stillValidAndWatched
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    // (the answer is passed in an object: a promise resolved with a promise would wait for it)
    let asked!: (check: { answered: Promise<number[]> }) => void
    const askedAbout = new Promise<{ answered: Promise<number[]> }>((resolve) => (asked = resolve))
    sessions.stillValidAndWatched = (ids) => {
      const answered = released.then(() => original(ids))
      asked({ answered })
      return answered
    }
    try {
      const { answered } = await askedAbout
      const second = await connect(`${url}?session_key=${(await server.user('viewer')).key}`)
      await readyOf(second)
      release()
      await answered
      // the held check acts on its answer in the same turn; a close frame would be on its way by now
      await new Promise((resolve) => setTimeout(resolve, 200))
      console.log(backend, "members", [...server.app.fanOut.members].map((m) => m.sessionId), second.socket.readyState)
      expect(second.socket.readyState).toBe(second.socket.OPEN)
      expect(first.socket.readyState).toBe(first.socket.OPEN)
      second.close()
    } finally {
      sessions.stillValidAndWatched = original
      release()
      first.close()
    }
  })
})
