/**
 * The bytes a server sends for each payload as one unfragmented, unmasked
 * WebSocket text frame (RFC 6455 §5.2), concatenated: a whole batch framed
 * once, so the fan-out writes the same buffer to every socket instead of
 * asking `ws` to frame every notification again for each of them. Payloads
 * must be UTF-8 JSON already (text frames); server frames carry no mask, and
 * no extension is negotiated (the server never enables permessage-deflate).
 */
export function textFrames(payloads: readonly Buffer[]): Buffer {
  let total = 0
  for (const payload of payloads) total += headerLength(payload.length) + payload.length
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const payload of payloads) {
    const length = payload.length
    out[at++] = 0x81 // FIN + text
    if (length < 126) {
      out[at++] = length
    } else if (length < 65_536) {
      out[at++] = 126
      out.writeUInt16BE(length, at)
      at += 2
    } else {
      out[at++] = 127
      out.writeUInt32BE(Math.floor(length / 2 ** 32), at)
      out.writeUInt32BE(length >>> 0, at + 4)
      at += 8
    }
    at += payload.copy(out, at)
  }
  return out
}

const headerLength = (length: number) => (length < 126 ? 2 : length < 65_536 ? 4 : 10)
