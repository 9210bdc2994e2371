import type { ServerProcess } from '../../helpers/server-process.ts'

/**
 * Undo steps registered as resources are created and run in reverse order
 * (servers stop before their databases are dropped). Every step runs even
 * when an earlier one fails; failures are reported, not thrown, so the
 * measurement's own error (if any) is the one that surfaces.
 */
export class Cleanup {
  private readonly steps: { label: string; run: () => Promise<unknown> }[] = []
  private readonly onSignal = (signal: NodeJS.Signals) => {
    // servers run detached in their own process groups: an interrupted run must still stop them
    this.log(`${signal}: cleaning up`)
    void this.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }

  constructor(private readonly log: (line: string) => void) {
    process.once('SIGINT', this.onSignal)
    process.once('SIGTERM', this.onSignal)
  }

  add(label: string, run: () => Promise<unknown>): void {
    this.steps.push({ label, run })
  }

  async runAll(): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    // taken out first: a signal arriving during a normal cleanup must not run a step twice
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run()
      } catch (error) {
        this.log(`cleanup: ${step.label} failed: ${(error as Error).message}`)
      }
    }
  }
}

/** SIGTERM the server's process group and wait; SIGKILL the group if it has not exited in time. */
export async function stopServer(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
  try {
    if ((await Promise.race([server.stop(), timedOut])) === 'timeout') server.kill()
  } finally {
    clearTimeout(timer)
    // tsx runs the server as its child: make sure nothing of the group outlives us
    server.kill()
  }
}
