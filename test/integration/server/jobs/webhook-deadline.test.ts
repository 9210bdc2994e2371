import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postWebhook } from '../../../../server/jobs/webhook-sender.ts'

// A receiver that keeps a worker busy: it answers its headers at once, then
// drips the body a byte every 50 ms and never ends (the socket is never idle,
// so an idle timeout alone would wait for ever), or says nothing at all.

const policy = { allowedHosts: ['127.0.0.1'] }
const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

describe('a webhook attempt is bounded as a whole', () => {
  let server: Server
  let base: string
  const sockets = new Set<Socket>()
  const drips = new Set<NodeJS.Timeout>()

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume()
      if (request.url === '/silent') return // headers never come
      response.writeHead(200, { 'content-type': 'text/plain' })
      const drip = setInterval(() => response.write('.'), 50)
      drips.add(drip)
      response.on('close', () => clearInterval(drip))
    })
    server.on('connection', (socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const drip of drips) clearInterval(drip)
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('gives up on a receiver that drips its answer, saying so, and leaves no connection open', async () => {
    const post = postWebhook({ url: `${base}/drip`, secret, id: 'msg_delivery_1', body: '{}' }, policy, 400)
    await expect(post).rejects.toThrow(`${base} did not finish answering within 400 ms`)
    // the sender hung up: the receiver's side closes too
    await expect.poll(() => sockets.size).toBe(0)
  })

  it('gives up on a receiver that never answers', async () => {
    await expect(postWebhook({ url: `${base}/silent`, secret, id: 'msg_delivery_2', body: '{}' }, policy, 400)).rejects.toThrow(/did not (finish answering|answer) within 400 ms/)
  })
})
