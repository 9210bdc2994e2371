import { cpus } from 'node:os'

/**
 * The 1-minute load average before anything of ours ran (other work on the
 * machine) and after each measured run (ours included), against the cores.
 */
export function machineLoad(before: number, after: number[]): string {
  const busy = before >= 0.5 * cpus().length ? ' Other processes were competing for the CPU: expect lower rates and longer times than on an idle machine.' : ''
  return `1-minute load average before the runs: ${before.toFixed(1)}, after each run: ${Math.min(...after).toFixed(1)}–${Math.max(...after).toFixed(1)}, on ${cpus().length} cores.${busy}`
}
