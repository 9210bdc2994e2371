// Starts poster.ts in a worker thread: a worker does not get the parent's
// `--import tsx` hooks in time for its own entry, so it registers them itself.
import { register } from 'tsx/esm/api'

register()
await import('./poster.ts')
