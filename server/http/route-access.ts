import fp from 'fastify-plugin'
import type { FastifyInstance, RouteOptions } from 'fastify'
import type { Role } from '../../contracts/users.ts'

/** Who may call a route: anyone, or a signed-in user with at least this role. */
export type Access = 'public' | Role

declare module 'fastify' {
  interface FastifyInstance {
    /** every route with the access it declared (HEAD routes Fastify adds for GETs included): for tests and docs */
    declaredRoutes(): { method: string; url: string; access: Access }[]
  }
  interface FastifyContextConfig {
    /** every route declares it; one that doesn't stops the server from starting */
    access?: Access
    /**
     * A public route that still looks at who is calling (`GET /api/auth/session`).
     * Other public routes never cost a session lookup, even when the browser
     * sends the cookie.
     */
    readsSession?: boolean
  }
}

const ACCESS_LEVELS: readonly Access[] = ['public', 'viewer', 'operator', 'admin']

/**
 * The access a matched route declared. A route without one (there is none:
 * `requireDeclaredAccess` refuses to start) would be admin-only, never open.
 */
export function accessOf(config: { access?: unknown } | undefined): Access {
  const access = config?.access
  return ACCESS_LEVELS.includes(access as Access) ? (access as Access) : 'admin'
}

/**
 * Refuses to start a server with a route that does not say who may call it,
 * so a new route can never be open by accident. The routes are checked once
 * all are registered, because a scope may declare the access of the routes a
 * third-party plugin adds inside it (`declareAccess`) after this hook saw them.
 * Register it before anything that adds routes.
 */
export const requireDeclaredAccess = fp(
  async (app) => {
    const routes: RouteOptions[] = []
    app.addHook('onRoute', (route) => {
      routes.push(route)
    })
    app.decorate('declaredRoutes', () =>
      routes.flatMap((route) => [route.method].flat().map((method) => ({ method, url: route.url, access: accessOf(route.config) }))),
    )
    app.addHook('onReady', async () => {
      const undeclared = routes.filter((route) => !ACCESS_LEVELS.includes(route.config?.access as Access))
      if (undeclared.length) {
        const names = undeclared.map((r) => `${[r.method].flat().join(',')} ${r.url}`).join('; ')
        throw new Error(`routes without an access declaration (config.access: ${ACCESS_LEVELS.join(' | ')}): ${names}`)
      }
    })
  },
  { name: 'route-access' },
)

/**
 * Gives every route registered in `scope` from now on that declares no access
 * of its own the given one: for plugins that add routes we don't write
 * (@fastify/static's files, Swagger UI's pages). Call it in an encapsulated
 * scope holding only those plugins.
 */
export function defaultAccess(scope: FastifyInstance, access: Access): void {
  scope.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) route.config = { ...route.config, access }
  })
}
