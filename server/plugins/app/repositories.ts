import fp from 'fastify-plugin'
import { SaveHooks } from '../../repositories/hooks.ts'
import { SessionEvents } from '../../auth/session-events.ts'
import { incidentRepository, type IncidentRepository } from '../../repositories/incidents.ts'
import { areaRepository, type AreaRepository } from '../../repositories/areas.ts'
import { userRepository, type UserRepository } from '../../repositories/users.ts'
import { alertRepository, type AlertRepository } from '../../repositories/alerts.ts'
import { historyRepository, type HistoryRepository } from '../../repositories/history.ts'
import { sessionRepository, type SessionLifetimes, type SessionRepository } from '../../repositories/sessions.ts'

declare module 'fastify' {
  interface FastifyInstance {
    saveHooks: SaveHooks
    incidents: IncidentRepository
    areas: AreaRepository
    alerts: AlertRepository
    history: HistoryRepository
    users: UserRepository
    sessions: SessionRepository
    sessionEvents: SessionEvents
  }
}

export interface RepositoriesOptions {
  session: SessionLifetimes
  /** incident creates committed at once (DB_SAVE_CONCURRENCY) */
  saveConcurrency: number
}

export default fp<RepositoriesOptions>(
  async (app, options) => {
    const hooks = new SaveHooks((error) => app.log.error({ err: error }, 'a post-save hook failed'))
    app.decorate('saveHooks', hooks)
    app.decorate('incidents', incidentRepository(app.db, hooks, { saveConcurrency: options.saveConcurrency }))
    app.decorate('areas', areaRepository(app.db, hooks))
    app.decorate('alerts', alertRepository(app.db, hooks))
    app.decorate('history', historyRepository(app.db))
    app.decorate('users', userRepository(app.db))
    app.decorate('sessions', sessionRepository(app.db, options.session))
    app.decorate('sessionEvents', new SessionEvents())
  },
  { name: 'repositories', dependencies: ['database'] },
)
