// Preloaded (--import) into a server under the idle-socket benchmark, so its
// memory can be read the same way whatever the server is: on SIGUSR2 it
// collects garbage (twice: the first pass may only queue finalizers) and
// writes process.memoryUsage() to $HEAP_PROBE_DIR/<pid>.json. Loaded through
// NODE_OPTIONS for our server (no server code is touched) and through the node
// flags for the peers; it sets --expose-gc itself, so no other flag is needed.
import { writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const dir = process.env.HEAP_PROBE_DIR
if (dir) {
  setFlagsFromString('--expose-gc')
  // a new context sees the flag; the main one was created before it was set
  const gc = runInNewContext('gc')
  process.on('SIGUSR2', () => {
    gc()
    gc()
    const file = join(dir, `${process.pid}.json`)
    // written whole, then renamed: the reader never sees half a file
    writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()))
    renameSync(`${file}.tmp`, file)
  })
}
