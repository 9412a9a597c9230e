# driftless in worker mode: the HTTP API, a change-feed reader and a drain loop per source, and the
# lease reaper, in one long-lived process (`driftless worker`). docker-compose.yml runs it as the
# `worker` service and the same image as the one-shot `seed` (`driftless sources apply`).
# See docs/docker.md. Both stages use the same pinned Node.js 22 image (package.json engines).

# --- build: the compiler and every development dependency, thrown away afterwards -------------
FROM node:22.21.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: patch-package only patches test tools, and the Bicep grammar's native
# build needs a compiler this image does not have; tsc needs neither. Optional dependencies are
# the Functions Core Tools, whose install downloads the host.
RUN npm ci --ignore-scripts --omit=optional --no-audit --no-fund
COPY tsconfig.json ./
COPY functions ./functions
COPY shared ./shared
COPY cli ./cli
COPY scripts ./scripts
RUN npx tsc -p tsconfig.json --sourceMap false
# tsc copies no assets: the Redis scripts go beside the compiled loader (dist/shared/redis/lua/).
RUN node scripts/copy-lua.mjs dist

# --- runtime: compiled JavaScript with its Lua scripts, production dependencies --------------------
FROM node:22.21.1-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly as locked, production only; no production dependency needs an install script
# (infra/package.sh installs the Function App's the same way).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

# Listens on every interface of the container; startWorker then requires DRIFTLESS_API_KEY, so
# the state-changing routes are never open to whoever reaches the published port.
ENV WORKER_HOST=0.0.0.0 \
    WORKER_PORT=7071
EXPOSE 7071

# The image's own `node` user (uid 1000): nothing here needs root, and the files above stay
# root-owned, so the process cannot rewrite its own code.
USER node

# Liveness only: /api/live answers while the process does and never asks a dependency, so an
# Elasticsearch outage does not get the worker restarted. Readiness (/api/ready: 503 naming the
# dependency that does not answer) is for orchestrators that route traffic; see docs/docker.md.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WORKER_PORT || 7071}/api/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node as PID 1 is fine here: `driftless worker` handles SIGTERM itself (a graceful stop that
# settles in-flight batches), which is what `docker stop` sends.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
