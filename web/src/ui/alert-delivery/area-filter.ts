import { MAX_FILTER_AREAS, type AreaFilter } from '../../../../contracts/deliveries.ts'

/** An area as the picker lists it: by name, with whether it is chosen. */
export interface AreaChoice {
  id: number
  name: string
  chosen: boolean
  /** chosen once, deleted since: listed so it can be let go of */
  gone: boolean
}

/**
 * The areas to offer, by name (case- and accent-blind), the chosen ones
 * first, those matching `search` only; an area a filter names that no
 * longer exists is offered too ("area 12, deleted"), so saving again does
 * not keep it without the person seeing it.
 */
export function areaChoices(areas: Iterable<{ id: number; name: string }>, chosen: ReadonlySet<number>, search = ''): AreaChoice[] {
  const byId = new Map<number, string>()
  for (const area of areas) byId.set(area.id, area.name)
  const wanted = fold(search.trim())
  const choices: AreaChoice[] = [...byId].map(([id, name]) => ({ id, name, chosen: chosen.has(id), gone: false }))
  for (const id of chosen) if (!byId.has(id)) choices.push({ id, name: `area ${id}, deleted`, chosen: true, gone: true })
  return choices
    .filter((choice) => !wanted || fold(choice.name).includes(wanted))
    .sort((a, b) => Number(b.chosen) - Number(a.chosen) || a.name.localeCompare(b.name) || a.id - b.id)
}

const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()

/** What a filter is saved as, or why it can't be: "all", or the chosen ids (one at least, MAX_FILTER_AREAS at most). */
export function areaFilterOf(all: boolean, chosen: ReadonlySet<number>): { filter: AreaFilter } | { problem: string } {
  if (all) return { filter: 'all' }
  if (chosen.size === 0) return { problem: 'choose at least one area, or all areas' }
  if (chosen.size > MAX_FILTER_AREAS) return { problem: `at most ${MAX_FILTER_AREAS} areas can be chosen (${chosen.size} are): choose all areas instead` }
  return { filter: [...chosen].sort((a, b) => a - b) }
}

/** A filter in words, naming the areas the store has: "all areas", "Harbour, Airport", "Harbour and 3 more". */
export function areaFilterWords(filter: AreaFilter, nameOf: (id: number) => string | undefined, shown = 3): string {
  if (filter === 'all') return 'all areas'
  const names = filter.map((id) => nameOf(id) ?? `area ${id} (deleted)`)
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`
}
