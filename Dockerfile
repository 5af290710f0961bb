# syntax=docker/dockerfile:1
# mucpush runs its TypeScript sources through tsx: there is no build step, only production deps
# (converse.js among them: the demo page at / serves its browser build).

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
# The config file is read when present (mount one there); without it the built-in defaults apply.
ENV NODE_ENV=production \
    MUCPUSH_CONFIG=/etc/mucpush/config.json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN mkdir -p /data /etc/mucpush && chown node:node /data
USER node
# 5222 c2s (STARTTLS), 5280 HTTP (WebSocket /xmpp-websocket, health, metrics, push inspection).
# Publish c2s.directTlsPort too if you enable it.
EXPOSE 5222 5280
VOLUME /data
# /health answers 200 once the server listens. With another http.port, set MUCPUSH_HEALTH_URL.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/healthcheck.js"]
# Inside a container loopback is unreachable from outside: listen on every interface
# (--host overrides c2s.host and http.host). Flags win over the config file.
CMD ["node", "bin/mucpush.js", "start", "--data-dir", "/data", "--host", "0.0.0.0"]
