// @ts-check
import { pathToFileURL } from 'node:url'
import { BuildFailed, buildServerBundle, bundlePaths, staleReason } from './bundle.mjs'
import { mapBundleStackTraces } from './stack-traces.mjs'

// `npm start`: runs the server bundle (server/bundle.mjs) with plain node,
// building it first if it is missing or older than a source, so an edited
// source never runs stale. Plain JavaScript: no tsx, no loader thread.
//
// SERVER_BUNDLE_DIR puts the bundle elsewhere (the tests use it); it must be
// inside the project, where the bundle's imports find node_modules.

const paths = bundlePaths(process.env.SERVER_BUNDLE_DIR ? process.env.SERVER_BUNDLE_DIR : undefined)
const reason = staleReason(paths)
if (reason) {
  console.error(`building the server bundle: ${reason}`)
  try {
    await buildServerBundle(paths)
  } catch (error) {
    if (!(error instanceof BuildFailed)) throw error
    console.error(error.message) // esbuild has printed where and why
    process.exit(1)
  }
}

// stack traces in the logs point at the .ts sources, as under tsx, without
// Node's source-map support and its cost at load (server/stack-traces.mjs)
mapBundleStackTraces(paths.outdir)
await import(pathToFileURL(paths.main).href)
