# syntax=docker/dockerfile:1
#
# One recipe, one image per service:
#   docker build --build-arg SERVICE=subgraphs/users -t registry.example.com/shop/users:<version> .
#   docker build --build-arg SERVICE=gateway         -t registry.example.com/shop/gateway:<version> .
# SERVICE is the workspace folder (gateway, subgraphs/users, subgraphs/products,
# subgraphs/inventory, subgraphs/orders, subgraphs/payments). Each image holds that service's
# compiled code and its production dependencies only; the working directory is the service's
# folder, so `node dist/index.js` starts it and `node dist/migrate.js` migrates its database
# (Kubernetes runs the latter as an init container).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every workspace, with dev dependencies (TypeScript, turbo)
FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json turbo.json tsconfig.json tsconfig.build.base.json ./
COPY subgraphs/kit/package.json subgraphs/kit/
COPY subgraphs/users/package.json subgraphs/users/
COPY subgraphs/products/package.json subgraphs/products/
COPY subgraphs/inventory/package.json subgraphs/inventory/
COPY subgraphs/orders/package.json subgraphs/orders/
COPY subgraphs/payments/package.json subgraphs/payments/
COPY gateway/package.json gateway/
COPY e2e/package.json e2e/
COPY kustomize/package.json kustomize/
RUN npm ci --no-audit --no-fund
COPY subgraphs subgraphs
COPY gateway gateway
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<workspace folder>" >&2; exit 1)
RUN npx turbo run build --filter="./${SERVICE}"

# ---- prod-deps: production dependencies of SERVICE only (native addons compiled here)
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/subgraphs/kit/package.json subgraphs/kit/
COPY --from=build /app/subgraphs/users/package.json subgraphs/users/
COPY --from=build /app/subgraphs/products/package.json subgraphs/products/
COPY --from=build /app/subgraphs/inventory/package.json subgraphs/inventory/
COPY --from=build /app/subgraphs/orders/package.json subgraphs/orders/
COPY --from=build /app/subgraphs/payments/package.json subgraphs/payments/
COPY --from=build /app/gateway/package.json gateway/
COPY --from=build /app/e2e/package.json e2e/
COPY --from=build /app/kustomize/package.json kustomize/
ARG SERVICE
# npm nests a workspace's dependency under its own folder when another version is hoisted
# (the kit's OpenTelemetry 2.x beside a 1.x at the root): those folders go into the image too.
RUN npm ci --omit=dev --workspace "${SERVICE}" --include-workspace-root=false --no-audit --no-fund \
 && mkdir -p subgraphs/kit/node_modules "${SERVICE}/node_modules" \
 && npm cache clean --force

# ---- runtime: node + tini, non-root, nothing writable but the mounted /tmp
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 shop && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin shop
ARG SERVICE
# MALLOC_ARENA_MAX: glibc gives each thread that meets a busy arena a new one (up to 8 per
# core), so a service's native memory crept up for 20 minutes as libuv's and V8's threads
# spread over more arenas; two keep it flat (BENCHMARKS.md, "Memory and endurance").
ENV NODE_ENV=production \
    SHOP_SERVICE=${SERVICE} \
    NODE_OPTIONS=--enable-source-maps \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/package.json ./
COPY --from=prod-deps --chown=root:root /app/node_modules node_modules
COPY --from=prod-deps --chown=root:root /app/subgraphs/kit/node_modules subgraphs/kit/node_modules
COPY --from=prod-deps --chown=root:root /app/${SERVICE}/node_modules ${SERVICE}/node_modules
COPY --from=build --chown=root:root /app/subgraphs/kit/package.json subgraphs/kit/
COPY --from=build --chown=root:root /app/subgraphs/kit/dist subgraphs/kit/dist
COPY --from=build --chown=root:root /app/${SERVICE}/package.json ${SERVICE}/
COPY --from=build --chown=root:root /app/${SERVICE}/dist ${SERVICE}/dist
WORKDIR /app/${SERVICE}
# Numeric, so Kubernetes can verify runAsNonRoot without resolving a name.
USER 10001:10001
# tini is PID 1: it forwards SIGTERM to node and reaps zombies; the service drains on SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/index.js"]
