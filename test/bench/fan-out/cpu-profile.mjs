// Node 20 refuses --cpu-prof in NODE_OPTIONS, so to profile our server under
// the fan-out benchmark preload this instead:
//
//   BENCH_SERVER_NODE_OPTIONS="--import=/abs/path/test/bench/fan-out/cpu-profile.mjs" \
//   CPU_PROFILE_DIR=/tmp/prof npx tsx test/bench/run.ts --only fan-out --rounds 1
//
// It profiles every node process that loads it (tsx's CLI too: ignore the
// small one) and writes <dir>/<pid>.cpuprofile when the process exits, which
// our server does on SIGTERM. Open it in Chrome DevTools or speedscope.
import { Session } from 'node:inspector'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.env.CPU_PROFILE_DIR ?? '/tmp'
const session = new Session()
session.connect()
session.post('Profiler.enable')
session.post('Profiler.setSamplingInterval', { interval: 200 })
session.post('Profiler.start')
// the in-process inspector answers synchronously, so this works in an exit handler
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (error) return
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile))
  })
})
