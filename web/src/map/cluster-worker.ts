import type { ClusterReply, ClusterRequest } from './cluster-protocol.ts'
import { clusterAnswers } from './cluster-answers.ts'

// A supercluster index in a Web Worker. Building it over 50 000 points takes
// a noticeable while on a slow machine, all of it on the main thread before:
// no frame could be drawn meanwhile, at the first load and again on every
// rebuild for live changes. Here the page keeps drawing while it builds.

/** Only what a dedicated worker's global scope offers that we use (the DOM typings describe a window). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ClusterRequest>) => void) | null
  postMessage(message: ClusterReply): void
}

const answer = clusterAnswers()
scope.onmessage = ({ data: message }) => scope.postMessage(answer(message))
