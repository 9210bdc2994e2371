# The app image used by docker-compose.yml. Runs the same `npm start` as a laptop.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# dependencies in their own layer; the postinstall (dashboard build, slim
# PostGIS bundle, server bundle) needs the source, so it runs once that is copied in
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run postinstall
ENV HOST=0.0.0.0 PORT=3000 NODE_ENV=production
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:3000/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# what `npm start` runs: node itself is PID 1 and shuts down gracefully on SIGTERM
CMD ["node", "server/start.mjs"]
