import type { Severity } from '../../contracts/severity.ts'

export const SEVERITY_COLOR: Record<Severity, string> = {
  urgent: '#b3001b',
  high: '#e4572e',
  medium: '#f3a712',
  low: '#3d8bd6',
  info: '#7a8b99',
}
