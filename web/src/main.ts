import 'leaflet/dist/leaflet.css'
import '@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css'
import './style.css'
import { api } from './api.ts'
import { showLogin } from './ui/login-view.ts'
import { takeSignOutReason } from './session/session-end.ts'

// The dashboard's module (Leaflet, geoman, the map) takes a while to
// evaluate on a slow machine: it loads while the server is asked who is
// signed in, rather than before.
const dashboard = import('./dashboard.ts')

// Signed in already (the cookie is HttpOnly, so ask the server)? Then the
// dashboard; otherwise the sign-in form first.
async function main() {
  const root = document.getElementById('app')!
  const [config, session] = await Promise.all([api.config(), api.session()])
  const reason = takeSignOutReason()
  const signedIn = session.user ? { user: session.user, expires: session.expires } : await showLogin(root, reason)
  const { startDashboard } = await dashboard
  void startDashboard(root, signedIn.user, config, signedIn.expires)
}

void main()
