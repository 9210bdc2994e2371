import { SEVERITIES } from '../../../../contracts/severity.ts'
import type { SubscriptionView } from '../../../../contracts/deliveries.ts'
import { ApiError } from '../../api.ts'
import { deliveryApi } from '../../delivery-api.ts'
import type { Store } from '../../store.ts'
import { escapeHtml } from '../escape-html.ts'
import { mountAreaPicker, type AreaPicker } from './area-picker.ts'

export interface AlertMailDeps {
  store: Store
  /** a short notice once saved */
  saved(message: string): void
}

/**
 * The signed-in person's own alert mail: on or off (off until they turn it
 * on), from which severity, for all areas or the ones they choose, and the
 * address it goes to; only an admin sets that address, so without one the
 * form says so and can't be turned on.
 */
export function mountAlertMailSettings(body: HTMLElement, close: () => void, { store, saved }: AlertMailDeps): { unmount(): void } {
  const form = document.createElement('form')
  form.dataset.testid = 'alert-mail-settings'
  form.setAttribute('aria-busy', 'true')
  form.innerHTML = '<p class="meta">Loading…</p>'
  body.append(form)
  let picker: AreaPicker | undefined
  let unmounted = false

  const problem = (message: string) => {
    const error = form.querySelector<HTMLElement>('[data-testid=form-error]')
    if (error) error.textContent = message
    else form.innerHTML = `<p class="error" role="alert" data-testid="form-error">${escapeHtml(message)}</p>`
  }

  const show = (current: SubscriptionView) => {
    form.removeAttribute('aria-busy')
    form.innerHTML = `
      <p data-testid="alert-mail-address" id="alert-mail-address">${
        current.email
          ? `Alert mail goes to <strong>${escapeHtml(current.email)}</strong>.`
          : 'Your account has no email address. An admin must set one before alert mail can be turned on.'
      }</p>
      <label class="inline"><input type="checkbox" name="email_alerts" aria-describedby="alert-mail-address"${current.email_alerts ? ' checked' : ''}${current.email || current.email_alerts ? '' : ' disabled'}> Email me new alerts</label>
      <label>Minimum severity
        <select name="min_severity">${SEVERITIES.map((s) => `<option value="${s}"${s === current.min_severity ? ' selected' : ''}>${s} and above</option>`).join('')}</select>
      </label>
      <div class="picker"></div>
      <p class="error" role="alert" data-testid="form-error"></p>
      <div class="actions"><button type="button" value="cancel">Cancel</button><button type="submit" class="primary">Save</button></div>`
    picker = mountAreaPicker(form.querySelector<HTMLElement>('.picker')!, store, current.areas)
    form.querySelector<HTMLButtonElement>('[value=cancel]')!.onclick = close
    form.querySelector<HTMLInputElement>('[name=email_alerts]')!.focus()
  }

  // a reason shown for the last try no longer holds once something changes
  form.addEventListener('change', () => problem(''))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (!picker) return
    const areas = picker.value()
    if ('problem' in areas) return problem(areas.problem)
    const on = form.querySelector<HTMLInputElement>('[name=email_alerts]')!.checked
    const min = form.querySelector<HTMLSelectElement>('[name=min_severity]')!.value as SubscriptionView['min_severity']
    problem('')
    try {
      const now = await deliveryApi.saveSubscription({ email_alerts: on, min_severity: min, areas: areas.filter })
      saved(now.email_alerts ? `Alert mail on: ${now.min_severity} and above, to ${now.email}` : 'Alert mail off')
      close()
    } catch (error) {
      problem(error instanceof ApiError ? error.message : `could not save: ${(error as Error).message}`)
    }
  })

  deliveryApi.subscription().then(
    (current) => !unmounted && show(current),
    (error: unknown) => !unmounted && problem(`could not read your alert mail settings: ${error instanceof Error ? error.message : String(error)}`),
  )

  return {
    unmount() {
      unmounted = true
      picker?.unmount()
      form.remove()
    },
  }
}
