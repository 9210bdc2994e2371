import { SEVERITIES, DEFAULT_SEVERITY, type Severity } from '../../../contracts/severity.ts'
import { formDialog, type Field } from '../ui/dialog.ts'

/** An incident's form, empty for a new one. */
export function incidentFields(p?: { name: string; description: string; severity: Severity }): Field[] {
  return [
    { name: 'name', label: 'Name', kind: 'text', value: p?.name ?? '', required: true, maxLength: 150 },
    { name: 'description', label: 'Description', kind: 'textarea', value: p?.description ?? '', maxLength: 1000 },
    { name: 'severity', label: 'Severity', kind: 'select', value: p?.severity ?? DEFAULT_SEVERITY, options: SEVERITIES },
  ]
}

/** An area's name and threshold, in a modal form; resolves true when saved. */
export function areaDialog(title: string, p: { name: string; severity: Severity }, save: (values: Record<string, string>) => Promise<void>): Promise<boolean> {
  return formDialog(title, [
    { name: 'name', label: 'Name', kind: 'text', value: p.name, required: true, maxLength: 150 },
    { name: 'severity', label: 'Alert threshold (this severity and above)', kind: 'select', value: p.severity, options: SEVERITIES },
  ], save)
}
