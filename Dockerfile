# Gatehouse gateway image: build the server and dashboard, then run on Node 24 LTS.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY server/package.json server/
COPY dashboard/package.json dashboard/
COPY e2e/package.json e2e/
RUN npm ci --no-audit --no-fund
COPY . .
RUN NX_DAEMON=false npx nx run-many -t build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
# GATEHOUSE_CONFIG_CACHE's folder in docker-compose.yml; a fresh named volume takes this owner.
RUN mkdir -p /var/cache/gatehouse && chown node:node /var/cache/gatehouse
USER node
EXPOSE 8000 8001
# --v8-pool-size=0: V8's background threads sized to the container's CPUs (server/src/runtime/node-flags.ts).
CMD ["node", "--v8-pool-size=0", "server/dist/main.js"]
