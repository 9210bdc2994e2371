import 'leaflet/dist/leaflet.css'
import '@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css'
import './style.css'
import { api } from './api.ts'
import { showLogin } from './ui/login-view.ts'
import { startDashboard } from './dashboard.ts'

// Signed in already (the cookie is HttpOnly, so ask the server)? Then the
// dashboard; otherwise the sign-in form first.
async function main() {
  const root = document.getElementById('app')!
  const [config, { user }] = await Promise.all([api.config(), api.session()])
  void startDashboard(root, user ?? (await showLogin(root)), config)
}

void main()
