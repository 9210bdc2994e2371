import net from 'node:net'

export interface TcpProxy {
  /** the loopback port clients connect to */
  port: number
  /** stop accepting connections (new ones are refused) and cut every open one */
  cut(): Promise<void>
  /** accept connections again, on the same port */
  restore(): Promise<void>
  close(): Promise<void>
}

/**
 * A TCP proxy to `target` that a test can cut and restore: the network path
 * to a server going away and coming back, as a crash, a restart or a network
 * failure looks to the client.
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(target)
    track(client)
    track(upstream)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const port = (server.address() as net.AddressInfo).port
  const cut = async () => {
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()
    for (const socket of sockets) socket.destroy()
    await closed
  }
  return { port, cut, restore: () => listen(port), close: cut }
}
