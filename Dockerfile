# The slicer-autoscaler worker. glibc base: the Temporal core bridge ships no musl build.
# test/integration/image-build.test.ts runs the build stage's steps (COPY, RUN) without Docker and starts the
# result the way ENTRYPOINT and CMD do, so keep every step a plain COPY or RUN.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm run bundle-workflows && npm prune --omit=dev

FROM node:24-bookworm-slim
# ca-certificates: TLS to Temporal Cloud, the apiserver and Slicer hosts with public certificates.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# Memory, measured with `npm run bench e2e -- --scenario burst` (1,000 pods): two malloc arenas instead of one per
# thread (Temporal core's and V8's threads) and V8's optimize-for-size mode took the worker's peak RSS from 441 MiB
# to 227 MiB (idle 275 -> 226 MiB) with the burst's figures unchanged. The bench runs the worker with these too.
ENV MALLOC_ARENA_MAX=2
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's `node` user, by number: Kubernetes can only enforce runAsNonRoot on a numeric user.
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--optimize-for-size", "dist/cli/main.js"]
CMD ["worker"]
