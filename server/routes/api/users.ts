import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../http/problem.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../auth/passwords.ts'
import { PublicUser, Role, Username } from '../../../contracts/users.ts'
import { IdParams } from '../../../contracts/params.ts'

const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH })

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
      body: Type.Object({ username: Username, password: Password, role: Role }, { additionalProperties: false }),
      response: { 201: PublicUser, ...problemResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const { username, password, role } = request.body
    return reply.code(201).send(await app.users.create(username, password, role))
  })

  app.patch('/api/users/:id', {
    config,
    schema: {
      tags: ['users'],
      summary: 'Change a role or reset a password; signs that user out everywhere',
      params: IdParams,
      body: Type.Object(
        { role: Type.Optional(Role), password: Type.Optional(Password) },
        { additionalProperties: false, minProperties: 1 },
      ),
      response: { 200: PublicUser, ...problemResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => {
    const user = await app.users.update(request.params.id, request.body)
    await app.sessionEvents.revoked({ userId: user.id })
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
