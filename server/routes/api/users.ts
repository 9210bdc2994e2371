import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../http/problem.ts'
import { PublicUser } from '../../../contracts/users.ts'
import { NewUser, UserChanges } from '../../../contracts/user-admin.ts'
import { IdParams } from '../../../contracts/params.ts'

/** User management: admins only. */
const users: FastifyPluginAsyncTypebox = async (app) => {
  const config = { access: 'admin' as const }

  app.get('/api/users', {
    config,
    schema: { tags: ['users'], response: { 200: Type.Array(PublicUser), ...problemResponses(401, 403) } },
  }, async () => app.users.list())

  app.post('/api/users', {
    config,
    schema: {
      tags: ['users'],
      body: NewUser,
      response: { 201: PublicUser, ...problemResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const { username, password, role, email } = request.body
    return reply.code(201).send(await app.users.create(username, password, role, email ?? null))
  })

  app.patch('/api/users/:id', {
    config,
    schema: {
      tags: ['users'],
      summary: 'Change a role, reset a password (either signs that user out everywhere), or set the address alert mail goes to (null: none)',
      params: IdParams,
      body: UserChanges,
      response: { 200: PublicUser, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => {
    const user = await app.users.update(request.params.id, request.body)
    if (request.body.role !== undefined || request.body.password !== undefined) await app.sessionEvents.revoked({ userId: user.id })
    return user
  })

  app.delete('/api/users/:id', {
    config,
    schema: {
      tags: ['users'],
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const user = await app.users.remove(request.params.id)
    await app.sessionEvents.revoked({ userId: user.id })
    return reply.code(204).send(null)
  })
}

export default users
