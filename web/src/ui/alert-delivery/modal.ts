/** A view that a modal hosts: mounted into the modal's body, unmounted when it closes. */
export type MountView = (body: HTMLElement, close: () => void) => { unmount(): void }

export interface Modal {
  close(): void
  /** settles once closed, however (Escape, the Close button, `close`) */
  readonly closed: Promise<void>
}

let modals = 0

/**
 * A modal <dialog> titled for screen readers, holding one view: Escape or
 * the Close button closes it, and closing unmounts the view and gives the
 * focus back to what had it (the header's button).
 */
/** @param wider for a table (the deliveries) */
export function openModal(title: string, testId: string, mount: MountView, wider = false): Modal {
  const titleId = `modal-title-${++modals}`
  const dialog = document.createElement('dialog')
  dialog.className = wider ? 'wide wider' : 'wide'
  dialog.dataset.testid = testId
  dialog.setAttribute('aria-labelledby', titleId)
  dialog.innerHTML = `<div class="modal-head"><h2 id="${titleId}"></h2><button type="button" class="close" aria-label="Close">×</button></div><div class="modal-body"></div>`
  dialog.querySelector('h2')!.textContent = title
  const returnFocus = document.activeElement as HTMLElement | null
  document.body.append(dialog)
  dialog.showModal()

  let resolveClosed!: () => void
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve))
  let open = true
  const close = () => {
    if (!open) return
    open = false
    view.unmount()
    dialog.close()
    dialog.remove()
    returnFocus?.focus()
    resolveClosed()
  }
  dialog.addEventListener('close', close)
  dialog.querySelector<HTMLButtonElement>('.close')!.onclick = close
  const view = mount(dialog.querySelector<HTMLElement>('.modal-body')!, close)
  return { close, closed }
}
