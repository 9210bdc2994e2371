import { describe, expect, it } from 'vitest'
import { BACKENDS, point } from '../../../helpers/test-server.ts'
import { withBadRequestTargets, expectRefusedCleanly } from '../../../helpers/problem-checks.ts'

// RFC 7946 reads every edge as a straight line in longitude/latitude, so an
// area drawn across the antimeridian as one ring (170° → -170°) is the
// 340°-wide band on the other side of the world. §3.1.9 asks for such a shape
// cut at ±180 into a MultiPolygon: that is accepted and alerts on both sides
// of the line; a single ring wider than 180° is refused, saying how to send it.

const HOW = 'cut it at ±180 into a MultiPolygon, as RFC 7946 §3.1.9 asks'

/** 170°E to 170°W across the antimeridian, 10° each side of the equator, as one ring: the mistake */
const acrossAsOneRing = [[170, -10], [-170, -10], [-170, 10], [170, 10], [170, -10]]
/** the same area cut at ±180 */
const cutAt180 = {
  type: 'MultiPolygon',
  coordinates: [
    [[[170, -10], [180, -10], [180, 10], [170, 10], [170, -10]]],
    [[[-180, -10], [-170, -10], [-170, 10], [-180, 10], [-180, -10]]],
  ],
}

describe.each(BACKENDS)('areas across the antimeridian on %s', (backend) => {
  const setup = withBadRequestTargets(backend)

  const feature = (geometry: object) => JSON.stringify({ type: 'Feature', geometry, properties: { name: 'Fiji and around' } })

  it('refuses one ring across it, naming the ring, its 340° span and how to send it', async () => {
    const body = await expectRefusedCleanly(setup.targets, {
      what: 'one ring', method: 'POST', url: '/api/areas', raw: feature({ type: 'Polygon', coordinates: [acrossAsOneRing] }),
      field: '/geometry/coordinates/0', part: 'body',
    })
    expect(body.detail).toBe(`geometry ring /coordinates/0 spans 340° of longitude (from -170 to 170), more than 180°: if the area crosses the antimeridian, ${HOW}`)
    expect(body.errors![0]!.value).toBe(340)
  })

  it('refuses such a ring inside a MultiPolygon, and as a redraw, leaving the area as it was', async () => {
    const multi = await expectRefusedCleanly(setup.targets, {
      what: 'in a MultiPolygon', method: 'POST', url: '/api/areas', field: '/geometry/coordinates/1/0', part: 'body',
      raw: feature({ type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [acrossAsOneRing]] }),
    })
    expect(multi.detail).toContain(HOW)
    const redraw = await expectRefusedCleanly(setup.targets, {
      what: 'redraw', method: 'PATCH', url: '/api/areas/:area', field: '/geometry/coordinates/0', part: 'body',
      raw: JSON.stringify({ geometry: { type: 'Polygon', coordinates: [[[-179, 0], [179, 0], [179, 1], [-179, 1], [-179, 0]]] } }),
    })
    expect(redraw.detail).toContain('spans 358° of longitude')
  })

  it('takes a ring exactly 180° wide, which needs no cutting', async () => {
    const response = await setup.targets.send({
      what: '180°', method: 'POST', url: '/api/areas', field: '/', part: 'body',
      raw: feature({ type: 'Polygon', coordinates: [[[-90, 0], [90, 0], [90, 1], [-90, 1], [-90, 0]]] }),
    })
    expect(response.statusCode, response.body).toBe(201)
    await setup.server.app.areas.remove(response.json().properties.id)
  })

  it('takes it cut at ±180 as a MultiPolygon, which alerts on both sides of the line and not in the band between', async () => {
    const response = await setup.targets.send({ what: 'cut', method: 'POST', url: '/api/areas', raw: feature(cutAt180), field: '/', part: 'body' })
    expect(response.statusCode, response.body).toBe(201)
    const areaId = response.json().properties.id as number
    expect(response.json().geometry).toEqual(cutAt180)
    await setup.server.newlyPublished()

    const ownerId = (await setup.server.admin()).id
    const alerted = async (lon: number, lat: number) => {
      await setup.server.app.incidents.create({ name: `at ${lon},${lat}`, severity: 'urgent', geometry: point(lon, lat) }, ownerId)
      return (await setup.server.newlyPublished()).some((n) => n.type === 'alert' && n.areas_of_interest.some((a) => a.id === areaId))
    }
    for (const [lon, lat] of [[175, 0], [-175, 0], [179.9, 9], [-179.9, -9], [180, 0], [-180, 0]] as const) {
      expect(await alerted(lon, lat), `${lon},${lat}`).toBe(true)
    }
    // where the one ring would have put it: the 340° band the other way round
    for (const [lon, lat] of [[0, 0], [90, 5], [-90, -5], [169, 0], [-169, 0], [175, 11]] as const) {
      expect(await alerted(lon, lat), `${lon},${lat}`).toBe(false)
    }
  })
})
