import { generateSessionKey } from '../../../server/auth/session-keys.ts'
import { composeAlertMail, type AlertMailPayload } from '../../../server/jobs/alert-mail.ts'
import { smtpMailer, type Mailer } from '../../../server/jobs/mailer.ts'
import { wallNow } from './counting-sink.ts'
import type { FloorDone, FloorRun } from './floor.ts'

// The floor, in a process of its own (as the worker is): the worker's own
// mailer (server/jobs/mailer.ts: nodemailer, pooled, the same connections
// and timeouts) sending the same alert mails (composeAlertMail, a fresh
// acknowledge key per mail) with as many sends in flight as the worker runs
// jobs. Nothing else: no job engine, no database. Driven over IPC by floor.ts.

let mailer: Mailer | undefined

process.on('message', (message: FloorRun | { type: 'close' }) => {
  if (message.type === 'close') {
    mailer?.close()
    process.disconnect()
    return
  }
  run(message).then((done) => process.send!(done), (error: Error) => process.send!({ type: 'error', message: error.message }))
})

async function run(plan: FloorRun): Promise<FloorDone> {
  mailer ??= smtpMailer(plan.smtpUrl, plan.from, plan.timeoutMs)
  const cpuBefore = process.cpuUsage()
  const payload = plan.payload as AlertMailPayload
  const alertId = payload.type === 'alert' ? payload.areas_of_interest[0]!.alert_id : payload.alert.id
  /** mails due and not yet taken, oldest first */
  const due: { alert: number; to: string; n: number }[] = []
  let released = 0
  /** senders waiting for the next alert's mails */
  let idle: (() => void)[] = []
  const wakeSenders = () => {
    const waiting = idle
    idle = []
    for (const wake of waiting) wake()
  }
  let sent = 0
  let errors = 0
  let firstError: string | undefined

  // each alert's mails join the queue at its scheduled time, whatever the senders are doing (open loop)
  const release = (async () => {
    for (let alert = 0; alert < plan.alerts; alert++) {
      const at = plan.alertRate > 0 ? plan.t0 + (alert * 1000) / plan.alertRate : plan.t0
      const wait = at - wallNow()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
      plan.recipients.forEach((to, n) => due.push({ alert, to, n }))
      released++
      wakeSenders()
    }
  })()

  const sender = async () => {
    for (;;) {
      const next = due.shift()
      if (!next) {
        if (released === plan.alerts) return
        await new Promise<void>((resolve) => idle.push(resolve))
        continue
      }
      const messageId = `<floor-${plan.runId}-${next.alert}-${next.n}@${new URL(plan.publicUrl).hostname}>`
      const mail = composeAlertMail(payload, next.to, messageId, { publicUrl: plan.publicUrl, ackKeys: new Map([[alertId, generateSessionKey()]]) })
      try {
        await mailer!.send(mail)
        sent++
      } catch (error) {
        errors++
        firstError ??= (error as Error).message
      }
    }
  }
  await Promise.all([release, ...Array.from({ length: plan.concurrency }, sender)])
  const cpu = process.cpuUsage(cpuBefore)
  return { type: 'done', sent, errors, firstError, cpuMs: (cpu.user + cpu.system) / 1000 }
}
