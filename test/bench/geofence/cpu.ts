import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import type pg from 'pg'

// CPU time spent by a process group or by PostgreSQL backends, from
// /proc/<pid>/stat (Linux). Divided by the saves done, it says where a save's
// cost lies: in the app process, or in the database. Off Linux every reading
// is NaN and the report says nothing about CPU.

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  } catch {
    return 10 // USER_HZ is 100 on every Linux we run on
  }
})()

const HAVE_PROC = existsSync('/proc/self/stat')

interface Stat {
  pid: number
  ppid: number
  pgrp: number
  /** user + system */
  cpuMs: number
  /** user + system of its children that have ended and been waited for */
  endedChildrenCpuMs: number
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: split after its closing parenthesis
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15, cutime 16, cstime 17
    return {
      pid,
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
      endedChildrenCpuMs: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
    }
  } catch {
    return undefined // gone, or no /proc
  }
}

/** User + system CPU of every live process in the group (a server started by spawnServer leads its own group). */
export function groupCpuMs(pgid: number): number {
  if (!HAVE_PROC) return NaN
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  let total = 0
  for (const pid of pids) {
    const s = stat(Number(pid))
    if (s?.pgrp === pgid) total += s.cpuMs
  }
  return total
}

/**
 * CPU of the whole PostgreSQL server on this machine: every process the
 * postmaster runs now (backends, WAL writer, checkpointer, autovacuum), plus
 * what its ended children used (cutime/cstime: the postmaster reaps them), so
 * a pooled connection that closes mid-run, idle, does not take its CPU with
 * it. Other databases' work counts too: nothing else runs during a benchmark.
 */
export async function postgresCpuMs(client: pg.Client): Promise<number> {
  if (!HAVE_PROC) return NaN
  const { rows: [row] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  const postmaster = stat(row!.pid)?.ppid
  const server = postmaster === undefined ? undefined : stat(postmaster)
  if (!server) return NaN
  let total = server.cpuMs + server.endedChildrenCpuMs
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const child = stat(Number(name))
    if (child?.ppid === server.pid) total += child.cpuMs
  }
  return total
}
