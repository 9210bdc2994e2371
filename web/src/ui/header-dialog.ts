/**
 * An admin panel opened from the header (users, invitations): a button put
 * before the signed-in user's name, and a modal `<dialog>` titled `title`
 * holding `body` and ending with Close. Each opening calls `onOpen` (clear
 * what it said last time, load the list) once the first field has focus.
 * Test ids are `<name>-open` for the button and `<name>` for the panel.
 */
export function headerDialog(
  header: HTMLElement,
  options: { name: string; title: string; body: string; onOpen: () => void },
): { dialog: HTMLDialogElement; unmount(): void } {
  const { name, title, body, onOpen } = options
  const open = document.createElement('button')
  open.type = 'button'
  open.textContent = title
  open.setAttribute('data-testid', `${name}-open`)
  open.setAttribute('aria-haspopup', 'dialog')
  header.insertBefore(open, header.querySelector('[data-testid=current-user]'))

  const dialog = document.createElement('dialog')
  dialog.className = name
  dialog.setAttribute('data-testid', name)
  dialog.setAttribute('aria-labelledby', `${name}-title`)
  dialog.innerHTML = `<h2 id="${name}-title"></h2>${body}<div class="actions"><button type="button" value="close">Close</button></div>`
  dialog.querySelector('h2')!.textContent = title
  document.body.append(dialog)

  open.onclick = () => {
    dialog.showModal()
    dialog.querySelector<HTMLElement>('form input')?.focus()
    onOpen()
  }
  dialog.querySelector<HTMLButtonElement>('[value=close]')!.onclick = () => dialog.close()
  return {
    dialog,
    unmount() {
      open.remove()
      dialog.remove()
    },
  }
}
