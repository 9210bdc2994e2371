import type { SessionUser } from '../../../../contracts/users.ts'
import type { Store } from '../../store.ts'
import type { JobListeners } from '../../live/job-listeners.ts'
import { mountAlertMailSettings } from './alert-mail-settings.ts'
import { mountWebhooksView } from './webhooks-view.ts'
import { mountDeliveriesView } from './deliveries-view.ts'
import { openModal, type Modal } from './modal.ts'
import './alert-delivery.css'

export interface DeliveryMenuDeps {
  store: Store
  jobs: JobListeners
  /** a short notice (saved, …) */
  notice(message: string): void
}

/**
 * The header's way to how alerts reach people off the dashboard: everyone's
 * own alert mail; the webhooks (operators and admins); what was delivered
 * (admins). Each opens in a modal; unmounting closes an open one.
 */
export function mountDeliveryMenu(header: HTMLElement, user: SessionUser, { store, jobs, notice }: DeliveryMenuDeps): { unmount(): void } {
  const buttons: HTMLButtonElement[] = []
  let open: Modal | undefined
  const add = (label: string, testId: string, show: () => Modal) => {
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = label
    button.dataset.testid = testId
    button.setAttribute('aria-haspopup', 'dialog')
    button.onclick = () => {
      open?.close()
      const modal = (open = show())
      void modal.closed.then(() => open === modal && (open = undefined))
    }
    buttons.push(button)
  }
  add('Alert mail', 'open-alert-mail', () => openModal('Alert mail', 'alert-mail-dialog', (body, close) => mountAlertMailSettings(body, close, { store, saved: notice })))
  if (user.role !== 'viewer') add('Webhooks', 'open-webhooks', () => openModal('Webhooks', 'webhooks-dialog', (body, close) => mountWebhooksView(body, close, store)))
  if (user.role === 'admin') add('Deliveries', 'open-deliveries', () => openModal('Deliveries', 'deliveries-dialog', (body, close) => mountDeliveriesView(body, close, jobs), true))
  // before who is signed in, so the way out stays last
  const anchor = header.querySelector('[data-testid=current-user]')
  for (const button of buttons) anchor ? anchor.before(button) : header.append(button)

  return {
    unmount() {
      open?.close()
      for (const button of buttons) button.remove()
    },
  }
}
