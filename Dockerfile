# Sluice worker image: `docker build -t sluice-worker:$(git rev-parse --short HEAD) .`
# Three stages: build (dev dependencies, tsc, workflow bundle) → prod-deps (production
# dependencies only) → runtime (node, the compiled code, a non-root user). See
# docs/deploying.md for building and pushing it to ECR.

# Node 24 LTS (the AWS SDK requires 22+ from January 2027); keep scripts/ensure-node.sh on the same major.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY kinds ./kinds
COPY workflows ./workflows
COPY activities ./activities
COPY plugin ./plugin
COPY workers ./workers
COPY client ./client
# Compiles to dist/ and pre-bundles the workflow code (dist/workflow-bundle.js): workers start without webpack.
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts skips `prepare` (the build needs dev dependencies
# and is already done). The Temporal core bridge ships prebuilt native binaries: no compiler needed.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The core bridge carries binaries for macOS and Windows and its Rust sources (~95 MB): Linux only.
COPY infra/container/prune-node-modules.sh /tmp/
RUN sh /tmp/prune-node-modules.sh node_modules

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SLUICE_HTTP_PORT=9464 \
    SLUICE_LOG_LEVEL=INFO
WORKDIR /app
COPY --from=prod-deps --chown=1000:1000 /app/node_modules ./node_modules
COPY --from=build --chown=1000:1000 /src/dist ./dist
COPY --chown=1000:1000 package.json ./
COPY --chown=1000:1000 bin ./bin
# The official image's unprivileged `node` user, by id so Kubernetes/ECS can check runAsNonRoot.
USER 1000:1000
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.SLUICE_HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The SDK runtime turns SIGTERM into a graceful shutdown (SLUICE_SHUTDOWN_GRACE); keep the
# orchestrator's stop timeout longer than the grace time.
STOPSIGNAL SIGTERM
CMD ["node", "bin/sluice.js", "worker"]
