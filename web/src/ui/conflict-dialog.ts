/** One field in a conflict: as it was when the edit began, as someone else saved it meanwhile, and as this user has it. */
export interface ConflictRow {
  field: string
  label: string
  before: string
  theirs: string
  /** undefined: this user did not change the field */
  mine: string | undefined
}

/** reload: take theirs and drop mine; apply: send mine on top of theirs; later: neither, decide again (Escape) */
export type ConflictChoice = 'reload' | 'apply' | 'later'

let dialogs = 0

/**
 * A modal that shows what someone else saved while this user was editing,
 * field by field, theirs beside mine, and asks which wins. Nothing is sent
 * until a button is pressed; Escape leaves both as they are.
 *
 * @param what the item, for a person ("incident “Gas leak”")
 * @param by who saved it last (null once that user is deleted)
 */
export function conflictDialog(what: string, by: string | null, rows: ConflictRow[]): Promise<ConflictChoice> {
  const id = `conflict-${++dialogs}`
  const dialog = document.createElement('dialog')
  dialog.className = 'conflict'
  dialog.setAttribute('data-testid', 'conflict-dialog')
  dialog.setAttribute('aria-labelledby', `${id}-title`)
  dialog.setAttribute('aria-describedby', `${id}-about`)
  const title = Object.assign(document.createElement('h2'), { id: `${id}-title`, textContent: 'Changed while you were editing' })
  const about = Object.assign(document.createElement('p'), {
    id: `${id}-about`,
    textContent: `${by ?? 'Someone'} saved ${what} after you began. Nothing of yours is saved yet.`,
  })

  const table = document.createElement('table')
  table.innerHTML = '<thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">Theirs (saved)</th><th scope="col">Mine</th></tr></thead>'
  const body = table.createTBody()
  for (const row of rows) {
    const tr = body.insertRow()
    tr.setAttribute('data-testid', 'conflict-row')
    tr.dataset.field = row.field
    const th = document.createElement('th')
    th.scope = 'row'
    th.textContent = row.label
    tr.append(th)
    const cell = (text: string, testId: string, className = '') => {
      const td = tr.insertCell()
      td.textContent = text
      td.setAttribute('data-testid', testId)
      if (className) td.className = className
    }
    cell(row.before, 'conflict-before')
    cell(row.theirs, 'conflict-theirs', row.theirs === row.before ? 'same' : 'changed')
    cell(row.mine ?? 'not changed by you', 'conflict-mine', row.mine === undefined ? 'same' : 'changed')
  }

  const actions = document.createElement('div')
  actions.className = 'actions'
  const button = (label: string, choice: ConflictChoice, className = '') => {
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: label, className })
    b.setAttribute('data-testid', `conflict-${choice}`)
    b.onclick = () => close(choice)
    actions.append(b)
    return b
  }
  button('Reload (take theirs, discard mine)', 'reload')
  const apply = button('Apply my change on top', 'apply', 'primary')

  dialog.append(title, about, table, actions)
  document.body.append(dialog)
  dialog.showModal()
  apply.focus()

  let resolve: (choice: ConflictChoice) => void
  const close = (choice: ConflictChoice) => {
    dialog.close()
    dialog.remove()
    resolve(choice)
  }
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault()
    close('later')
  })
  return new Promise((r) => (resolve = r))
}
