import { describe, expect, it } from 'vitest'
import { changedProperties } from '../../../../web/src/editing/save-edit.ts'

// A form's save sends only what the user changed, so that it never writes
// back, unchanged, a field someone else saved meanwhile.

describe('changedProperties', () => {
  const opened = { name: 'Gas leak', description: 'Smell of gas\r\nnear the quay', severity: 'urgent', version: 4 }

  it('keeps only the fields whose value differs from the one the form opened with', () => {
    expect(changedProperties(opened, { name: 'Gas leak at the quay', description: 'Smell of gas\nnear the quay', severity: 'urgent' }))
      .toEqual({ name: 'Gas leak at the quay' })
  })

  it('finds nothing changed in a form saved as it opened (a text area gives \\n line ends for \\r\\n)', () => {
    expect(changedProperties(opened, { name: 'Gas leak', description: 'Smell of gas\nnear the quay', severity: 'urgent' })).toEqual({})
  })

  it('sends a field emptied by the user', () => {
    expect(changedProperties(opened, { description: '' })).toEqual({ description: '' })
  })
})
