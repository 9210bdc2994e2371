import { SEVERITIES } from '../../../../contracts/severity.ts'
import type { CreatedWebhook, Webhook } from '../../../../contracts/deliveries.ts'
import { ApiError } from '../../api.ts'
import { deliveryApi } from '../../delivery-api.ts'
import type { Store } from '../../store.ts'
import { escapeHtml } from '../escape-html.ts'
import { areaFilterWords } from './area-filter.ts'
import { mountAreaPicker } from './area-picker.ts'

const say = (error: unknown) => (error instanceof ApiError ? error.message : `the server did not answer: ${(error as Error).message}`)

/**
 * Webhooks (operators and admins): the endpoints every matching alert is
 * POSTed to, signed. Registering one shows its signing secret once, with
 * a copy button; the server keeps it only to sign, and never shows it again.
 */
export function mountWebhooksView(body: HTMLElement, _close: () => void, store: Store): { unmount(): void } {
  const view = document.createElement('div')
  view.dataset.testid = 'webhooks-view'
  view.innerHTML = `
    <section aria-labelledby="webhooks-registered"><h3 id="webhooks-registered">Registered</h3>
      <ul class="rows" data-testid="webhook-list" aria-busy="true"><li class="meta">Loading…</li></ul>
      <p class="error" role="alert" data-testid="webhooks-error"></p>
    </section>
    <div class="secret" data-testid="webhook-secret" role="status" hidden></div>
    <form data-testid="webhook-form" aria-labelledby="webhooks-add"><h3 id="webhooks-add">Add a webhook</h3>
      <label>URL <input type="url" name="url" required maxlength="2000" placeholder="https://example.org/alerts"></label>
      <label>Minimum severity
        <select name="min_severity">${SEVERITIES.map((s) => `<option value="${s}"${s === 'high' ? ' selected' : ''}>${s} and above</option>`).join('')}</select>
      </label>
      <div class="picker"></div>
      <p class="error" role="alert" data-testid="form-error"></p>
      <div class="actions"><button type="submit" class="primary">Add webhook</button></div>
    </form>`
  body.append(view)
  const list = view.querySelector<HTMLElement>('[data-testid=webhook-list]')!
  const listError = view.querySelector<HTMLElement>('[data-testid=webhooks-error]')!
  const secretBox = view.querySelector<HTMLElement>('[data-testid=webhook-secret]')!
  const form = view.querySelector('form')!
  const formError = form.querySelector<HTMLElement>('[data-testid=form-error]')!
  const picker = mountAreaPicker(form.querySelector<HTMLElement>('.picker')!, store, 'all')
  let webhooks: Webhook[] = []
  let loaded = false
  let unmounted = false

  const areaName = (id: number) => store.areas.get(id)?.properties.name
  const render = () => {
    list.removeAttribute('aria-busy')
    list.innerHTML = webhooks.length
      ? webhooks
          .map(
            (w) => `<li data-testid="webhook-item" data-webhook-id="${w.id}">
              <code class="url">${escapeHtml(w.url)}</code>
              <span class="meta">${escapeHtml(w.min_severity)} and above · ${escapeHtml(areaFilterWords(w.areas, areaName))}${w.created_by ? ` · by ${escapeHtml(w.created_by)}` : ''} · <time datetime="${escapeHtml(w.created)}">${escapeHtml(new Date(w.created).toLocaleString())}</time></span>
              <button type="button" class="danger" data-delete="${w.id}" aria-label="Delete the webhook to ${escapeHtml(w.url)}">Delete</button>
            </li>`,
          )
          .join('')
      : '<li class="meta">No webhooks yet.</li>'
  }
  const reload = async () => {
    try {
      webhooks = await deliveryApi.webhooks()
      loaded = true
      listError.textContent = ''
      if (!unmounted) render()
    } catch (error) {
      listError.textContent = `could not list the webhooks: ${say(error)}`
    }
  }

  const showSecret = (created: CreatedWebhook) => {
    secretBox.hidden = false
    secretBox.innerHTML = `
      <p><strong>Signing secret for ${escapeHtml(created.url)}, shown only now.</strong> Copy it to the receiver, which checks each POST's signature with it (Standard Webhooks): it cannot be shown again.</p>
      <label>Secret <input type="text" readonly data-testid="webhook-secret-value" value="${escapeHtml(created.secret)}" spellcheck="false"></label>
      <div class="actions"><span class="meta" data-testid="copy-state" aria-live="polite"></span><button type="button" data-testid="copy-secret">Copy</button><button type="button" data-testid="secret-done">Done</button></div>`
    const value = secretBox.querySelector<HTMLInputElement>('input')!
    const state = secretBox.querySelector<HTMLElement>('[data-testid=copy-state]')!
    secretBox.querySelector<HTMLButtonElement>('[data-testid=copy-secret]')!.onclick = async () => {
      value.select()
      try {
        await navigator.clipboard.writeText(created.secret)
        state.textContent = 'Copied.'
      } catch {
        // no clipboard (a page not served over https, or permission refused): the text is selected for Ctrl+C
        state.textContent = 'Selected: press Ctrl+C to copy.'
      }
    }
    secretBox.querySelector<HTMLButtonElement>('[data-testid=secret-done]')!.onclick = () => {
      secretBox.hidden = true
      secretBox.replaceChildren() // gone from the page, as from the server
    }
    value.focus()
    value.select()
  }

  // a reason shown for the last try no longer holds once something changes
  form.addEventListener('change', () => (formError.textContent = ''))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const areas = picker.value()
    if ('problem' in areas) return void (formError.textContent = areas.problem)
    formError.textContent = ''
    const url = form.querySelector<HTMLInputElement>('[name=url]')!
    const severity = form.querySelector<HTMLSelectElement>('[name=min_severity]')!.value as Webhook['min_severity']
    try {
      const created = await deliveryApi.createWebhook({ url: url.value.trim(), min_severity: severity, areas: areas.filter })
      url.value = ''
      await reload()
      showSecret(created)
    } catch (error) {
      formError.textContent = say(error)
    }
  })

  list.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('[data-delete]')
    if (!button) return
    const webhook = webhooks.find((w) => w.id === Number(button.dataset.delete))
    if (!webhook || !confirm(`Delete the webhook to ${webhook.url}? What was not yet sent to it will not be.`)) return
    try {
      await deliveryApi.deleteWebhook(webhook.id)
      listError.textContent = ''
    } catch (error) {
      listError.textContent = `could not delete it: ${say(error)}`
    }
    await reload()
  })

  // the areas' names, as they are now
  const rerender = () => loaded && render()
  store.on('areas', rerender)
  void reload()

  return {
    unmount() {
      unmounted = true
      store.off('areas', rerender)
      picker.unmount()
      view.remove()
    },
  }
}
