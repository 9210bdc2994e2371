import type { ResolveReason } from '../../../contracts/alerts.ts'
import type { FieldChange, HistoryEntry } from '../../../contracts/history.ts'
import { DATE_TIME, resolvedWords } from './alert-words.ts'
import { escapeHtml } from './escape-html.ts'

const ACTION_WORDS: Record<string, string> = {
  created: 'created', edited: 'edited', moved: 'moved', closed: 'closed', reopened: 'reopened', redrawn: 'redrawn', deleted: 'deleted',
}

const coordinate = (n: number) => String(Number(n.toFixed(5)))

/** One field's value as a person reads it: text quoted, a position as "lon, lat", `closed` as open/closed. */
export function valueWords(field: string, value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (field === 'closed' && typeof value === 'boolean') return value ? 'closed' : 'open'
  if (typeof value === 'string') return `“${value}”`
  if (Array.isArray(value) && value.every((n) => typeof n === 'number')) return value.map(coordinate).join(', ')
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** What one entry says happened, in a line: "edited", "alert fired for Harbour", "alert for Harbour acknowledged by ana — on my way". */
export function entryWords(entry: HistoryEntry): string {
  const area = entry.alert?.area.name ?? '(an area)'
  switch (entry.action) {
    case 'alert_fired':
      return `alert fired for ${area}`
    case 'alert_acknowledged': {
      const note = entry.changes.note?.after
      return `alert for ${area} acknowledged by ${entry.actor?.username ?? 'someone'}${typeof note === 'string' && note ? ` — ${note}` : ''}`
    }
    case 'alert_resolved':
      return `alert for ${area} ${resolvedWords((entry.changes.reason?.after ?? null) as ResolveReason | null)}`
    default:
      return ACTION_WORDS[entry.action] ?? entry.action
  }
}

/** Each changed field as "name: “Old” → “New”"; a creation lists what it was created with, a deletion nothing. */
export function changeLines(entry: HistoryEntry): string[] {
  if (entry.action.startsWith('alert_') || entry.action === 'deleted') return []
  return Object.entries(entry.changes).map(([field, { before, after }]: [string, FieldChange]) =>
    entry.action === 'created' ? `${field}: ${valueWords(field, after)}` : `${field}: ${valueWords(field, before)} → ${valueWords(field, after)}`,
  )
}

/** The entries, oldest first, each with when, who, and what changed. */
export function historyHtml(entries: HistoryEntry[]): string {
  if (!entries.length) return '<p class="empty">No history recorded.</p>'
  return `<ol class="history">${entries.map((e) => {
    const lines = changeLines(e)
    return `<li data-testid="history-entry" data-action="${e.action}">
        <span class="meta"><time datetime="${escapeHtml(e.at)}">${DATE_TIME.format(new Date(e.at))}</time> · <span data-testid="history-actor">${escapeHtml(e.actor?.username ?? 'system')}</span></span>
        <span class="what">${escapeHtml(entryWords(e))}</span>${lines.length ? `<ul class="changes">${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : ''}
      </li>`
  }).join('')}</ol>`
}
