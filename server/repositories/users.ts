import { sql, type Kysely } from 'kysely'
import type { Database, User } from '../../db/schema.ts'
import type { PublicUser, Role } from '../../contracts/users.ts'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords.ts'
import { ConflictError, NotFoundError } from '../errors.ts'

export const toPublicUser = (u: Pick<User, 'id' | 'username' | 'role' | 'created' | 'email'>): PublicUser => ({
  id: u.id,
  username: u.username,
  role: u.role,
  email: u.email,
  created: new Date(u.created).toISOString(),
})

export type UserRepository = ReturnType<typeof userRepository>

/** Accounts. Shared by the HTTP API and the `npm run user` command. */
export function userRepository(db: Kysely<Database>) {
  const columns = ['id', 'username', 'role', 'created', 'email'] as const

  async function list(): Promise<PublicUser[]> {
    return (await db.selectFrom('users').select(columns).orderBy('id').execute()).map(toPublicUser)
  }

  async function count(): Promise<number> {
    const { n } = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    return Number(n)
  }

  async function get(id: number): Promise<PublicUser> {
    const user = await db.selectFrom('users').select(columns).where('id', '=', id).executeTakeFirst()
    if (!user) throw new NotFoundError('user', id)
    return toPublicUser(user)
  }

  async function findByUsername(username: string): Promise<PublicUser | undefined> {
    const user = await db.selectFrom('users').select(columns).where('username', '=', username).executeTakeFirst()
    return user && toPublicUser(user)
  }

  async function create(username: string, password: string, role: Role, email: string | null = null, trx: Kysely<Database> = db): Promise<PublicUser> {
    const password_hash = await hashPassword(password)
    if (email !== null) await assertEmailFree(trx, email)
    const user = await trx
      .insertInto('users')
      .values({ username, password_hash, role, email })
      .onConflict((oc) => oc.column('username').doNothing())
      .returning(columns)
      .executeTakeFirst()
    if (!user) throw new ConflictError('username', username, `username "${username}" is already taken`)
    return toPublicUser(user)
  }

  /** One address, one account: alert mail for an address goes to one person's subscription. */
  async function assertEmailFree(trx: Kysely<Database>, email: string, except?: number) {
    let query = trx.selectFrom('users').select('id').where(sql`lower(email)`, '=', email.toLowerCase())
    if (except !== undefined) query = query.where('id', '<>', except)
    if (await query.executeTakeFirst()) throw new ConflictError('email', email, `the address ${email} belongs to another user`)
  }

  /** The user when the password matches; undefined otherwise, taking as long either way. */
  async function verifyCredentials(username: string, password: string): Promise<PublicUser | undefined> {
    const user = await db
      .selectFrom('users')
      .select([...columns, 'password_hash'])
      .where('username', '=', username)
      .executeTakeFirst()
    const ok = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash()))
    return ok && user ? toPublicUser(user) : undefined
  }

  /** Changing a role or a password signs the user out everywhere: their sessions were granted on the old terms. An address alone does not. */
  async function update(id: number, changes: { role?: Role | undefined; password?: string | undefined; email?: string | null | undefined }): Promise<PublicUser> {
    const password_hash = changes.password === undefined ? undefined : await hashPassword(changes.password)
    const demoting = changes.role !== undefined && changes.role !== 'admin'
    return db.transaction().execute(async (trx) => {
      const admins = demoting ? await lockAdmins(trx) : []
      const current = await trx.selectFrom('users').select(['role']).where('id', '=', id).forNoKeyUpdate().executeTakeFirst()
      if (!current) throw new NotFoundError('user', id)
      if (demoting && current.role === 'admin') assertAnotherAdmin(admins, id)
      if (changes.email) await assertEmailFree(trx, changes.email, id)
      const user = await trx
        .updateTable('users')
        .set({ ...(changes.role && { role: changes.role }), ...(password_hash && { password_hash }), ...(changes.email !== undefined && { email: changes.email }) })
        .where('id', '=', id)
        .returning(columns)
        .executeTakeFirstOrThrow()
      if (changes.role !== undefined || password_hash !== undefined) {
        await trx.updateTable('sessions').set({ revoked: new Date() }).where('user_id', '=', id).where('revoked', 'is', null).execute()
      }
      return toPublicUser(user)
    })
  }

  /**
   * A user's own change of password, proved by the current one: their other
   * sessions are signed out (whoever else held one no longer does), the one
   * that asked stays. Undefined when the current password does not match,
   * including when it changed between the check and the write (two changes
   * at once: the second is refused, not applied over the first). The ids of
   * the sessions signed out otherwise.
   */
  async function changeOwnPassword(id: number, currentPassword: string, newPassword: string, keepSessionId: number): Promise<number[] | undefined> {
    const user = await db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirst()
    if (!user) throw new NotFoundError('user', id)
    if (!(await verifyPassword(currentPassword, user.password_hash))) return undefined
    const password_hash = await hashPassword(newPassword)
    return db.transaction().execute(async (trx) => {
      const changed = await trx
        .updateTable('users')
        .set({ password_hash })
        .where('id', '=', id)
        .where('password_hash', '=', user.password_hash)
        .returning('id')
        .executeTakeFirst()
      if (!changed) return undefined
      const revoked = await trx
        .updateTable('sessions')
        .set({ revoked: new Date() })
        .where('user_id', '=', id)
        .where('id', '<>', keepSessionId)
        .where('revoked', 'is', null)
        .returning('id')
        .execute()
      return revoked.map((row) => row.id)
    })
  }

  async function remove(id: number): Promise<PublicUser> {
    return db.transaction().execute(async (trx) => {
      const admins = await lockAdmins(trx)
      const user = await trx.selectFrom('users').select(columns).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!user) throw new NotFoundError('user', id)
      if (user.role === 'admin') assertAnotherAdmin(admins, id)
      await trx.deleteFrom('users').where('id', '=', id).execute()
      return toPublicUser(user)
    })
  }

  /**
   * The admins, their rows locked until the transaction ends. Two admins
   * removing each other at once would each see the other still there (write
   * skew under READ COMMITTED) and leave none. Every change that can take an
   * admin away locks all admin rows first, in id order (so two such changes
   * never deadlock), then its target: such changes take turns, and the one
   * that waited reads the admins as the other left them (a removed or demoted
   * row drops out of the locked set once it is released).
   */
  async function lockAdmins(trx: Kysely<Database>): Promise<number[]> {
    // NO KEY: conflicts with another such lock, a role change and a delete, but
    // not with the key-share locks that foreign keys take, so admins can still
    // sign in and save while the decision is made
    const rows = await trx.selectFrom('users').select('id').where('role', '=', 'admin').orderBy('id').forNoKeyUpdate().execute()
    return rows.map((row) => row.id)
  }

  // Without an admin nobody could manage users from the web again.
  function assertAnotherAdmin(admins: number[], id: number) {
    if (!admins.some((admin) => admin !== id)) {
      throw new ConflictError('role', 'admin', `user ${id} is the last admin; make another user admin first`)
    }
  }

  return { list, count, get, findByUsername, create, verifyCredentials, update, changeOwnPassword, remove }
}
