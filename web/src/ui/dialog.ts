import { ApiError } from '../api.ts'
import { trackOpenForm, type DraftSubject } from '../session/drafts.ts'

export interface Field {
  name: string
  label: string
  kind: 'text' | 'password' | 'textarea' | 'select'
  value?: string
  /** the browser's `autocomplete` hint (a password field: `current-password` or `new-password`) */
  autocomplete?: string
  options?: readonly string[]
  required?: boolean
  maxLength?: number
  /** shown, not changed here (e.g. where a report will be placed) */
  readOnly?: boolean
}

/**
 * A modal form. `submit` runs the save; when the server refuses, its reason
 * is shown in place and the form stays open with what was typed.
 * Resolves true when saved, false when cancelled.
 *
 * @param submitLabel what the submit button says ("Save" by default)
 * @param draft what the form is about, for a form whose typing is worth
 *   keeping if the session ends while it is open (session/drafts.ts)
 */
export function formDialog(
  title: string,
  fields: Field[],
  submit: (values: Record<string, string>) => Promise<void>,
  submitLabel = 'Save',
  draft?: DraftSubject,
): Promise<boolean> {
  const dialog = document.createElement('dialog')
  dialog.setAttribute('data-testid', 'form-dialog')
  const form = document.createElement('form')
  form.method = 'dialog'
  form.append(Object.assign(document.createElement('h2'), { textContent: title }))
  for (const field of fields) {
    const label = document.createElement('label')
    label.textContent = field.label
    const input =
      field.kind === 'textarea' ? document.createElement('textarea') : field.kind === 'select' ? document.createElement('select') : document.createElement('input')
    input.name = field.name
    if (input instanceof HTMLSelectElement) {
      for (const option of field.options ?? []) input.add(new Option(option, option))
    }
    if (field.maxLength && !(input instanceof HTMLSelectElement)) input.maxLength = field.maxLength
    if (field.required) input.required = true
    if (field.readOnly && input instanceof HTMLInputElement) input.readOnly = true
    if (input instanceof HTMLInputElement && field.kind === 'password') input.type = 'password'
    if (field.autocomplete) input.setAttribute('autocomplete', field.autocomplete)
    input.value = field.value ?? ''
    label.append(input)
    form.append(label)
  }
  const error = document.createElement('p')
  error.className = 'error'
  error.setAttribute('role', 'alert')
  error.setAttribute('data-testid', 'form-error')
  const actions = document.createElement('div')
  actions.className = 'actions'
  actions.innerHTML = '<button type="button" value="cancel">Cancel</button><button type="submit" class="primary"></button>'
  actions.querySelector('[type=submit]')!.textContent = submitLabel
  form.append(error, actions)
  dialog.append(form)
  document.body.append(dialog)
  dialog.showModal()
  ;(form.elements[0] as HTMLElement | undefined)?.focus()

  const values = () => Object.fromEntries(new FormData(form).entries()) as Record<string, string>
  const untrack = draft ? trackOpenForm(draft, values) : () => {}

  return new Promise((resolve) => {
    const close = (saved: boolean) => {
      untrack()
      dialog.close()
      dialog.remove()
      resolve(saved)
    }
    actions.querySelector<HTMLButtonElement>('[value=cancel]')!.onclick = () => close(false)
    dialog.addEventListener('cancel', () => close(false))
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      error.textContent = ''
      try {
        await submit(values())
        close(true)
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.message : `could not save: ${(e as Error).message}`
      }
    })
  })
}
