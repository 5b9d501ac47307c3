# syntax=docker/dockerfile:1
# cloudadmin as a container image: `docker build -t cloudadmin:dev .`, then
# `docker run --rm -m 200m cloudadmin:dev leak-memory -m 10 -x 0 -e 500` (or any other command).
# `--build-arg NODE_VERSION=24` for Node 24; `--build-arg WITH_AZURITE=true` to keep the blob emulator.
# Two stages: the build stage installs with dev dependencies, compiles TypeScript and the native
# populate helper of @cloudadmin/memory-leaker (node-gyp needs python3, make and g++, which the full
# Debian image has), then drops dev dependencies; the runtime stage is distroless (no shell, no
# package manager) and runs as an unprivileged numeric user.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
# The Azurite blob emulator is a dev-only, optional peer of @cloudadmin/cloud-sim (tests and benchmarks
# start it; the CLI never does), so `npm prune --omit=dev` leaves it out. WITH_AZURITE=true adds it back.
ARG WITH_AZURITE=false
WORKDIR /src
# node-gyp builds against the image's own Node.js headers instead of downloading them.
ENV npm_config_nodedir=/usr/local \
    TURBO_TELEMETRY_DISABLED=1 \
    CI=true
# Manifests first, so the dependency layer is cached until a package.json or the lock changes.
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY apps/cli/package.json apps/cli/
COPY apps/cli/bin apps/cli/bin
COPY apps/functions/package.json apps/functions/
COPY bench/package.json bench/
COPY packages/auth/package.json packages/auth/
COPY packages/azure-vm-ips/package.json packages/azure-vm-ips/
COPY packages/cloud-sim/package.json packages/cloud-sim/
COPY packages/ec2-ips/package.json packages/ec2-ips/
COPY packages/errors/package.json packages/errors/
COPY packages/ip-inventory/package.json packages/ip-inventory/
COPY packages/memory-leaker/package.json packages/memory-leaker/binding.gyp packages/memory-leaker/
COPY packages/memory-leaker/native packages/memory-leaker/native
COPY packages/output/package.json packages/output/
COPY packages/paging/package.json packages/paging/
COPY packages/report/package.json packages/report/
COPY packages/user-photos/package.json packages/user-photos/
COPY packages/zoom-licenses/package.json packages/zoom-licenses/
COPY tests/package.json tests/
RUN npm ci --no-audit --no-fund \
 && test -f packages/memory-leaker/build/Release/populate.node
COPY . .
RUN npx turbo run build --filter=@cloudadmin/cli --filter='./packages/*' --output-logs=errors-only \
 && npm prune --omit=dev --no-audit --no-fund \
 && if [ "$WITH_AZURITE" = "true" ]; then \
      npm install --no-save --no-audit --no-fund azurite@3.37.0; \
    fi \
 && rm -rf apps/functions bench tests examples deploy docs scripts \
      node_modules/@cloudadmin/functions node_modules/@cloudadmin/bench node_modules/@cloudadmin/repo-tests \
      packages/*/src packages/*/test apps/cli/src apps/cli/test \
      packages/memory-leaker/build/Release/obj.target packages/memory-leaker/build/Release/.deps \
 && node apps/cli/dist/bin.js --version

FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot AS runtime
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/apps/cli ./apps/cli
# distroless's `nonroot` user, numeric so Kubernetes' runAsNonRoot can verify it. Any other uid
# works too (files are world-readable); HOME is set for uids without a passwd entry, whose home the
# AWS SDK would otherwise fail to find.
USER 65532:65532
ENV NODE_ENV=production \
    HOME=/home/nonroot
ENTRYPOINT ["/nodejs/bin/node", "/app/apps/cli/dist/bin.js"]
CMD ["--help"]
