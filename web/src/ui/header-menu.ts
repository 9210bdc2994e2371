/** Below this width the header keeps one row: the rest goes behind a Menu button (style.css). */
export const PHONE_WIDTH = '(max-width: 600px)'

/**
 * The header's Menu button, for phone-sized screens: the title, the
 * connection state and the open-alert count stay in view; every other
 * control of the header (whichever module added it) shows when the menu is
 * open. On a wide screen the button is hidden and everything shows, as the
 * CSS decides. Returns the unmount.
 */
export function mountHeaderMenu(header: HTMLElement): () => void {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'menu-toggle'
  button.dataset.testid = 'header-menu'
  button.textContent = 'Menu'
  button.setAttribute('aria-expanded', 'false')
  const toggle = (open: boolean) => {
    header.classList.toggle('menu-open', open)
    button.setAttribute('aria-expanded', String(open))
  }
  button.onclick = () => toggle(!header.classList.contains('menu-open'))
  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && header.classList.contains('menu-open')) {
      toggle(false)
      button.focus()
    }
  }
  header.addEventListener('keydown', onKey)
  // after the title and the state badges: the first thing a thumb reaches on the right
  header.querySelector('h1')!.after(button)
  return () => {
    header.removeEventListener('keydown', onKey)
    button.remove()
    header.classList.remove('menu-open')
  }
}
