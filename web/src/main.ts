import 'leaflet/dist/leaflet.css'
import '@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css'
import './style.css'
import { api } from './api.ts'
import { showLogin } from './ui/login-view.ts'

// The dashboard's module (Leaflet, geoman, the map) takes a while to
// evaluate on a slow machine: it loads while the server is asked who is
// signed in, rather than before.
const dashboard = import('./dashboard.ts')

// Signed in already (the cookie is HttpOnly, so ask the server)? Then the
// dashboard; otherwise the sign-in form first.
async function main() {
  const root = document.getElementById('app')!
  const [config, { user }] = await Promise.all([api.config(), api.session()])
  const signedIn = user ?? (await showLogin(root))
  const { startDashboard } = await dashboard
  void startDashboard(root, signedIn, config)
}

void main()
