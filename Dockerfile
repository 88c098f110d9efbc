# syntax=docker/dockerfile:1
# popwatch as a self-hosted vantage: `popwatch run` in a container, writing to
# a shared DynamoDB table (or a DynamoDB-compatible endpoint) named in the
# config's `store` section, as the vantage its `vantage` section names.
#
#   docker build -t popwatch .
#   docker run -d --name popwatch-vantage \
#     -v "$PWD/popwatch.json:/config/popwatch.json:ro" \
#     -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_REGION \
#     popwatch
#
# Credentials come from the AWS SDK chain (environment, a mounted
# ~/.aws of the node user, or the instance role); `popwatch iam-policy
# vantage` prints what they need. Without a store section results go to the
# embedded store in /data (mount a volume there to keep them).

# ---- build: the CLI bundle (scripts/build.mjs), and the two packages it leaves external
FROM node:22-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/ scripts/
COPY packages/ packages/
# npm ci runs the root's prepare script, which is the build; run it once more
# explicitly so a failed bundle fails the image.
RUN npm ci --no-audit --no-fund && node scripts/build.mjs
# dynalite (the embedded store) and esbuild (TypeScript configs) are loaded at
# run time, not bundled: install them alone, at the versions the lockfile pins.
RUN mkdir /runtime && cd /runtime && echo '{"private":true}' > package.json && \
    npm install --omit=dev --no-audit --no-fund \
      "dynalite@$(node -p "require('/src/package-lock.json').packages['node_modules/dynalite'].version")" \
      "esbuild@$(node -p "require('/src/package-lock.json').packages['node_modules/esbuild'].version")"

# ---- run: the bundle on plain Node, as the unprivileged node user
FROM node:22-slim
ENV NODE_ENV=production
COPY --from=build /runtime/node_modules/ /app/node_modules/
COPY --from=build /src/packages/cli/dist/ /app/packages/cli/dist/
COPY --from=build /src/packages/cli/bin/ /app/packages/cli/bin/
RUN mkdir /config /data && chown node:node /data
USER node
# The embedded store's default directory (.popwatch) is relative to here.
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["node", "/app/packages/cli/bin/popwatch.mjs"]
CMD ["run", "--config", "/config/popwatch.json"]
