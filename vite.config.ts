import { defineConfig } from 'vite'

// The dashboard lives in web/ and builds to web/dist, which the Fastify server
// serves. `npx vite` runs it in dev mode against a server on :3000.
const api = process.env.DASHBOARD_API ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root: 'web',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true, changeOrigin: false },
    },
  },
})
