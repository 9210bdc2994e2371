import type { Scenario } from '../harness/report.ts'
import { delivery } from './delivery.ts'
import { fanOut } from './fan-out.ts'
import { geofence } from './geofence.ts'
import { idleSockets } from './idle-sockets.ts'
import { map } from './map.ts'
import { start } from './start.ts'

/** Every benchmark scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [geofence, start, map, fanOut, idleSockets, delivery]
