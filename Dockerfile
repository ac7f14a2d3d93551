# The Airlock worker and webhook server image (docker-compose.yml runs both from it).
# Build stage: dist/ (the compiled CLI that bin/airlock.js runs, `npm run build`) needs TypeScript,
# a dev dependency, so it is compiled here and only dist/ is copied into the image.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips the package's own `prepare` (npm run build: no TypeScript without the dev
# dependencies, and dist/ comes from the build stage); `npm rebuild` then runs the dependencies'
# install scripts, which --ignore-scripts skipped too.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY policy ./policy
COPY tsconfig.json ./
COPY --from=build /app/dist ./dist
# git: the policy gate reads each change from a clone (AIRLOCK_REPO_DIR) with git ls-tree / cat-file.
# /var/lib/airlock belongs to node so the named volume mounted there (clone, simulation state) does too.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/airlock && chown node:node /var/lib/airlock
USER node
ENV NODE_ENV=production
CMD ["node", "node_modules/tsx/dist/cli.mjs", "src/worker/worker.ts"]
