# The Airlock worker and webhook server image (docker-compose.yml runs both from it).
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY policy ./policy
COPY tsconfig.json ./
USER node
ENV NODE_ENV=production
CMD ["node", "node_modules/tsx/dist/cli.mjs", "src/worker/worker.ts"]
