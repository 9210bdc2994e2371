import type pg from 'pg'
import { ALERT_CHECK } from './bare-save.ts'
import type { Place } from './data.ts'

export interface PlanSummary {
  /** how the areas table was read, e.g. "Index Scan using areas_polygon" */
  areasAccess: string
  meanMs: number
  maxMs: number
  /** rows of areas the scan handed to ST_Covers' exact test, on average */
  meanCandidates: number
  points: number
}

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Actual Rows'?: number
  'Actual Loops'?: number
  'Rows Removed by Filter'?: number
  'Rows Removed by Index Recheck'?: number
  Plans?: PlanNode[]
}

/**
 * EXPLAIN ANALYZE of the alert check for a sample of places: how the
 * planner reaches the areas (GiST index scan or sequential scan), how long
 * the query takes inside PostgreSQL (no network, no client), and how many
 * area rows the scan produced before ST_Covers' exact test removed the rest.
 */
export async function explainAlertCheck(client: pg.Client, sample: Place[]): Promise<PlanSummary> {
  const times: number[] = []
  const candidates: number[] = []
  let areasAccess = 'unknown'
  for (const place of sample) {
    // EXPLAIN does not take bind parameters: inline the values (numbers, and a severity from our own list)
    const text = ALERT_CHECK.replace('$1', String(place.lon)).replace('$2', String(place.lat)).replace('$3', `'${place.severity}'`)
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`)
    const plan = rows[0]!['QUERY PLAN'][0]
    times.push(plan['Execution Time'])
    const areas = findAreasNode(plan.Plan)
    if (areas) {
      areasAccess = `${areas['Node Type']}${areas['Index Name'] ? ` using ${areas['Index Name']}` : ''}`
      const produced = (areas['Actual Rows'] ?? 0) * (areas['Actual Loops'] ?? 1)
      candidates.push(produced + (areas['Rows Removed by Filter'] ?? 0) + (areas['Rows Removed by Index Recheck'] ?? 0))
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN)
  return { areasAccess, meanMs: mean(times), maxMs: Math.max(...times), meanCandidates: mean(candidates), points: sample.length }
}

function findAreasNode(node: PlanNode): PlanNode | undefined {
  if (node['Relation Name'] === 'areas_of_interest') return node
  for (const child of node.Plans ?? []) {
    const found = findAreasNode(child)
    if (found) return found
  }
  return undefined
}
