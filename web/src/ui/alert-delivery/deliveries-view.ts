import { DELIVERY_STATES, type Delivery, type DeliveryState } from '../../../../contracts/deliveries.ts'
import { ApiError } from '../../api.ts'
import { deliveryApi } from '../../delivery-api.ts'
import type { JobListeners } from '../../live/job-listeners.ts'
import { escapeHtml } from '../escape-html.ts'
import { deliveryWords } from './delivery-words.ts'

const PAGE = 50
/** what needs a look first */
const FILTERS: readonly (DeliveryState | 'all')[] = ['failed', ...DELIVERY_STATES.filter((s) => s !== 'failed'), 'all']

const say = (error: unknown) => (error instanceof ApiError ? error.message : `the server did not answer: ${(error as Error).message}`)

const row = (d: Delivery) => {
  const words = deliveryWords(d)
  return `<tr data-testid="delivery-item" data-delivery-id="${d.id}" data-state="${escapeHtml(d.state)}">
    <td>${d.id}</td>
    <td>${escapeHtml(words.what)}</td>
    <td class="to">${escapeHtml(d.to)}</td>
    <td data-testid="delivery-state">${escapeHtml(d.state)}</td>
    <td>${escapeHtml(words.attempts)}</td>
    <td class="last-error" data-testid="delivery-error">${d.last_error === null ? '' : escapeHtml(d.last_error)}</td>
    <td class="times">${words.times.map((t) => `${escapeHtml(t.label)} <time datetime="${escapeHtml(t.iso)}">${escapeHtml(t.text)}</time>`).join('<br>')}</td>
    <td>${d.state === 'failed' ? `<button type="button" data-retry="${d.id}" aria-label="Retry delivery ${d.id}">Retry</button>` : ''}</td>
  </tr>`
}

/**
 * What the worker delivered, is delivering, and gave up on (admins only):
 * by state, the failed first, each with where it went, its attempts and
 * last error. A failed one can be retried; its job's end (a `job` frame
 * from the live socket) reads the list again.
 */
export function mountDeliveriesView(body: HTMLElement, _close: () => void, jobs: JobListeners): { unmount(): void } {
  const view = document.createElement('div')
  view.dataset.testid = 'deliveries-view'
  view.innerHTML = `
    <div class="toolbar">
      <label>Show <select data-testid="delivery-filter">${FILTERS.map((f) => `<option value="${f}">${f === 'all' ? 'all deliveries' : f}</option>`).join('')}</select></label>
      <button type="button" data-testid="deliveries-refresh">Refresh</button>
    </div>
    <p class="error" role="alert" data-testid="deliveries-error"></p>
    <p class="meta" role="status" data-testid="deliveries-status"></p>
    <div class="table-scroll"><table>
      <caption class="visually-hidden">Deliveries, newest first</caption>
      <thead><tr><th scope="col">#</th><th scope="col">What</th><th scope="col">To</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Times</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody data-testid="delivery-list"></tbody>
    </table></div>
    <button type="button" data-testid="deliveries-more" hidden>Load more</button>`
  body.append(view)
  const filter = view.querySelector<HTMLSelectElement>('select')!
  const list = view.querySelector<HTMLElement>('tbody')!
  const error = view.querySelector<HTMLElement>('[data-testid=deliveries-error]')!
  const status = view.querySelector<HTMLElement>('[data-testid=deliveries-status]')!
  const more = view.querySelector<HTMLButtonElement>('[data-testid=deliveries-more]')!
  let shown: Delivery[] = []
  let cursor: number | null = null
  /** the newest read asked for: a slower answer to an older one is dropped */
  let reading = 0

  const render = () => {
    list.innerHTML = shown.length ? shown.map(row).join('') : `<tr><td colspan="8" class="meta">No ${filter.value === 'all' ? '' : `${escapeHtml(filter.value)} `}deliveries.</td></tr>`
    more.hidden = cursor === null
  }
  const read = async (append: boolean) => {
    const mine = ++reading
    const state = filter.value === 'all' ? undefined : (filter.value as DeliveryState)
    try {
      const page = await deliveryApi.deliveries({ state, limit: PAGE, cursor: append ? cursor : null })
      if (mine !== reading) return
      shown = append ? [...shown, ...page.deliveries] : page.deliveries
      cursor = page.next_cursor
      error.textContent = ''
      render()
    } catch (e) {
      if (mine === reading) error.textContent = `could not list the deliveries: ${say(e)}`
    }
  }

  filter.onchange = () => void read(false)
  view.querySelector<HTMLButtonElement>('[data-testid=deliveries-refresh]')!.onclick = () => void read(false)
  more.onclick = () => void read(true)
  list.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('[data-retry]')
    if (!button) return
    const id = Number(button.dataset.retry)
    button.disabled = true
    try {
      const pending = await deliveryApi.retryDelivery(id)
      shown = shown.map((d) => (d.id === id ? pending : d))
      status.textContent = `Delivery ${id} is being sent again.`
      error.textContent = ''
      render()
    } catch (e) {
      button.disabled = false
      error.textContent = `could not retry delivery ${id}: ${say(e)}`
    }
  })
  // a retry of ours ended: the list shows how
  const stopListening = jobs.add((frame) => {
    if (frame.job.kind === 'delivery_retry' && (frame.job.status === 'done' || frame.job.status === 'failed')) void read(false)
  })
  void read(false)
  filter.focus()

  return {
    unmount() {
      stopListening()
      reading++
      view.remove()
    },
  }
}
