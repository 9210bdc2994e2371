import { defineConfig } from '@playwright/test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'

// End-to-end tests drive Debian's chromium (never a downloaded browser)
// against a real server, on the embedded default, on a random port.

// The config is evaluated again in every worker process: pick the port once,
// in the runner, and let the workers inherit it through the environment.
process.env.E2E_PORT ??= String(
  await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  }),
)
const port = Number(process.env.E2E_PORT)
export const ADMIN_PASSWORD = 'e2e-admin-password'
const baseURL = `http://127.0.0.1:${port}`
process.env.E2E_BASE_URL = baseURL
process.env.E2E_ADMIN_PASSWORD = ADMIN_PASSWORD

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  forbidOnly: true,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results/playwright',
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    // tiles come from the internet, which the test machines don't reach: the bundled outline shows instead
    trace: 'off',
  },
  webServer: {
    // build first, so the tests always drive the dashboard as the source is now
    command: 'node_modules/.bin/vite build --logLevel warn && node server/start.mjs',
    url: `${baseURL}/api/health`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: (process.env.E2E_DATA_DIR ??= join(mkdtempSync(join(tmpdir(), 'e2e-')), 'data')),
      ADMIN_PASSWORD,
      LOG_LEVEL: 'warn',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      // a blank tile server: offline rooms and test machines see the bundled outline
      TILE_URL: `${baseURL}/no-tiles/{z}/{x}/{y}.png`,
    },
  },
})
