import L from 'leaflet'

export interface ModeAction {
  label: string
  testId: string
  primary?: boolean
  run(): void
}

/**
 * What the map is doing for the operator beyond looking (placing a report,
 * drawing, fixing a shape): shown in the tools' panel with its own buttons,
 * one at a time.
 */
export interface Mode {
  /** which tool button shows pressed */
  tool?: 'report' | 'draw'
  title: string
  message?: string
  /** the message is a refusal: read out at once */
  alert?: boolean
  body?: HTMLElement
  actions: ModeAction[]
  /** Escape (when no dialog is open) and the pressed tool button; without it, neither ends the mode */
  cancel?(): void
}

/**
 * The operator's tools on the map: "Report incident" and "Draw area" buttons,
 * real buttons that work by keyboard, mouse and touch, and below them the
 * panel of the mode in progress. While a mode is on, the map's areas let
 * clicks through to the map (the `map-mode` class), so a tap places a
 * corner or a report inside an area too.
 */
export class MapTools {
  readonly control = new L.Control({ position: 'topright' })
  #mode: Mode | undefined
  #element: HTMLElement | undefined

  constructor(
    private readonly map: L.Map,
    private readonly start: { report(): void; draw(): void },
  ) {
    this.control.onAdd = () => this.#build()
    this.control.onRemove = () => document.removeEventListener('keydown', this.#onKey)
    this.control.addTo(map)
  }

  get busy(): boolean {
    return this.#mode !== undefined
  }

  /**
   * Makes way for a new mode: ends the one in progress if it can be ended so
   * (placing a report, drawing); false when it cannot (a shape being fixed or
   * reshaped ends only by its own buttons).
   */
  free(): boolean {
    this.#mode?.cancel?.()
    return this.#mode === undefined
  }

  /** Shows `mode`'s panel (in place of the one before, if any) and moves the keyboard focus into it. */
  enter(mode: Mode) {
    this.#mode = mode
    const panel = this.#panel()
    panel.hidden = false
    panel.querySelector('h2')!.textContent = mode.title
    this.message(mode.message ?? '', mode.alert)
    panel.querySelector('.mode-body')!.replaceChildren(...(mode.body ? [mode.body] : []))
    const bar = panel.querySelector('.actions')!
    bar.replaceChildren(
      ...mode.actions.map((action) => {
        const button = Object.assign(document.createElement('button'), { type: 'button', textContent: action.label })
        button.dataset.testid = action.testId
        if (action.primary) button.className = 'primary'
        button.onclick = () => action.run()
        return button
      }),
    )
    this.#showTools()
    this.map.getContainer().classList.add('map-mode')
    const first = panel.querySelector<HTMLElement>('input, button:not([disabled])')
    if (!panel.contains(document.activeElement)) first?.focus()
  }

  /** The panel's line of text: what to do next, or why the server refused. */
  message(text: string, alert = false) {
    const line = this.#panel().querySelector<HTMLElement>('.mode-message')!
    line.textContent = text
    line.hidden = !text
    line.classList.toggle('error', alert)
    line.setAttribute('role', alert ? 'alert' : 'status')
  }

  /** A button of the mode's, by its test id (to enable it once it can do something). */
  action(testId: string): HTMLButtonElement | null {
    return this.#panel().querySelector<HTMLButtonElement>(`[data-testid="${testId}"]`)
  }

  /** Ends the mode: the panel goes, the tools are free, and the focus returns to the tool that began it. */
  leave() {
    const tool = this.#mode?.tool
    const hadFocus = this.#element?.contains(document.activeElement)
    this.#mode = undefined
    this.#panel().hidden = true
    this.map.getContainer().classList.remove('map-mode')
    this.#showTools()
    if (hadFocus && tool) this.#element?.querySelector<HTMLElement>(`[data-tool=${tool}]`)?.focus()
  }

  #build(): HTMLElement {
    const div = (this.#element = L.DomUtil.create('div', 'map-tools'))
    div.innerHTML = `
      <div class="tool-buttons">
        <button type="button" data-tool="report" data-testid="report-incident" aria-pressed="false">Report incident</button>
        <button type="button" data-tool="draw" data-testid="draw-area" aria-pressed="false">Draw area</button>
      </div>
      <section class="mode-panel" data-testid="mode-panel" aria-labelledby="mode-title" hidden>
        <h2 id="mode-title"></h2>
        <p class="mode-message" data-testid="mode-message"></p>
        <div class="mode-body"></div>
        <div class="actions"></div>
      </section>`
    for (const button of div.querySelectorAll<HTMLButtonElement>('[data-tool]')) {
      const tool = button.dataset.tool as 'report' | 'draw'
      button.onclick = () => {
        if (this.#mode?.tool === tool) this.#mode.cancel?.()
        else if (!this.#mode) this.start[tool]()
      }
    }
    // the panel is the map's own: clicks, scrolls and taps in it are not the map's;
    // nor a tap's click, which Leaflet would count with a tap on the map just
    // after it as a double tap, and zoom in
    L.DomEvent.disableClickPropagation(div)
    L.DomEvent.disableScrollPropagation(div)
    L.DomEvent.on(div, 'click', L.DomEvent.stopPropagation)
    document.addEventListener('keydown', this.#onKey)
    return div
  }

  #showTools() {
    for (const button of this.#element?.querySelectorAll<HTMLButtonElement>('[data-tool]') ?? []) {
      const mine = this.#mode?.tool === button.dataset.tool
      button.setAttribute('aria-pressed', String(mine))
      // the pressed one ends its mode (when it can be ended so); the others wait
      button.disabled = this.#mode !== undefined && !(mine && this.#mode.cancel)
    }
  }

  #panel(): HTMLElement {
    return this.#element!.querySelector<HTMLElement>('.mode-panel')!
  }

  readonly #onKey = (event: KeyboardEvent) => {
    // a dialog's Escape is the dialog's
    if (event.key !== 'Escape' || !this.#mode?.cancel || document.querySelector('dialog[open]')) return
    event.preventDefault()
    this.#mode.cancel()
  }
}
