import fp from 'fastify-plugin'
import { generatePassword } from '../../auth/passwords.ts'
import { ConflictError } from '../../errors.ts'

export interface FirstAdminOptions {
  adminPassword?: string | undefined
  /** where the generated password is shown once; never the log */
  announce: (text: string) => void
}

/**
 * On the very first start (no users at all) creates `admin`, with
 * ADMIN_PASSWORD or a random password shown once on the console.
 */
export default fp<FirstAdminOptions>(
  async (app, options) => {
    if ((await app.users.count()) > 0) return
    const password = options.adminPassword ?? generatePassword()
    try {
      await app.users.create('admin', password, 'admin')
    } catch (error) {
      if (error instanceof ConflictError) return // another instance starting at the same moment won
      throw error
    }
    app.log.info('created the first user, "admin"')
    if (!options.adminPassword) {
      options.announce(
        `\n  First start: created user "admin" with password: ${password}\n` +
          `  Sign in and change it (npm run user -- reset-password --username admin).\n\n`,
      )
    }
  },
  { name: 'first-admin', dependencies: ['repositories'] },
)
