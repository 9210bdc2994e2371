/**
 * No body of ours nests deeper than 6 levels (a MultiPolygon's positions);
 * this leaves room for clients that wrap what they send, and stays far below
 * what would overflow the stack of whatever walks the value recursively
 * afterwards (the validator, the serializer echoing a bad value back).
 */
export const MAX_JSON_DEPTH = 64

export interface TooDeep {
  /** JSON pointer of the first object or array past the limit */
  pointer: string
  /** its depth: the body itself is depth 1 */
  depth: number
}

interface Frame {
  value: object
  depth: number
  parent: Frame | undefined
  key: string
}

/**
 * Where a parsed JSON value first nests deeper than `max` objects/arrays, if
 * it does. Iterative, so the check cannot overflow on the input it exists to
 * refuse.
 */
export function findTooDeep(value: unknown, max = MAX_JSON_DEPTH): TooDeep | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: '' }]
  while (stack.length) {
    const frame = stack.pop()!
    if (frame.depth > max) return { pointer: pointerOf(frame), depth: frame.depth }
    const push = (key: string, child: unknown) => {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: frame.depth + 1, parent: frame, key })
    }
    // pushed last first, so the first too-deep member found is the first in the text
    if (Array.isArray(frame.value)) {
      for (let i = frame.value.length - 1; i >= 0; i--) push(String(i), frame.value[i])
    } else {
      const keys = Object.keys(frame.value)
      for (let i = keys.length - 1; i >= 0; i--) push(keys[i]!, (frame.value as Record<string, unknown>)[keys[i]!])
    }
  }
  return undefined
}

function pointerOf(frame: Frame): string {
  const keys: string[] = []
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.push(f.key.replace(/~/g, '~0').replace(/\//g, '~1'))
  return keys.reverse().map((k) => `/${k}`).join('')
}
