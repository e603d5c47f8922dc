# Tabby node image. Build stage compiles the addon, the eBPF objects and TypeScript;
# the runtime stage carries only what the agent runs with. Node 24 is an LTS line
# (maintained to April 2028); Node 20 left support in April 2026.
# Build: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t tabby/node:0.1.0 .
FROM node:24-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libmnl-dev make g++ python3 pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore keeps host builds (node_modules, dist, addon/build, bpf/build) and .git out.
COPY . .
ARG GIT_COMMIT=unknown
# vmlinux.h comes from the build host's BTF; CO-RE relocations adapt it to the node's kernel.
RUN make -C bpf && npx node-gyp rebuild --directory addon && npx tsc -b && node scripts/bundle.mjs \
    && printf '{"commit":"%s"}\n' "$GIT_COMMIT" > dist/build-info.json \
    && npm prune --omit=dev

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      iproute2 iptables ipset libmnl0 libbpf1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tabby
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/bundle ./dist/bundle
COPY --from=build /src/dist/build-info.json ./dist/
COPY --from=build /src/addon/build/Release/tabby_native.node ./addon/build/Release/
# The objects the agent loads: the host programs and the start-up checksum probe.
COPY --from=build /src/bpf/build/host.bpf.o /src/bpf/build/csum_probe.bpf.o ./bpf/build/
# The DaemonSet's init container puts tabby-cni on the host with this (as Calico's install-cni).
COPY --from=build /src/scripts/install-cni.sh ./scripts/
RUN ln -s /opt/tabby/dist/src/cli/main.js /usr/local/bin/tabby && ln -s /opt/tabby/dist/src/cni/main.js /usr/local/bin/tabby-cni \
    && chmod +x dist/src/cli/main.js dist/src/cni/main.js scripts/install-cni.sh
# Configured by environment, as calico-node is (docs/configuration.md).
ENTRYPOINT ["tabby"]
CMD ["node", "run"]
