# Tabby node image. Build stage compiles the addon, the eBPF objects and TypeScript;
# the runtime stage carries only what the agent runs with.
FROM node:20-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libmnl-dev make g++ python3 pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# vmlinux.h comes from the build host's BTF; CO-RE relocations adapt it to the node's kernel.
RUN make -C bpf && npx node-gyp rebuild --directory addon && npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      iproute2 iptables ipset libmnl0 libbpf1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tabby
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/addon/build/Release/tabby_native.node ./addon/build/Release/
COPY --from=build /src/bpf/build/*.bpf.o ./bpf/build/
RUN ln -s /opt/tabby/dist/src/cli/main.js /usr/local/bin/tabby && chmod +x dist/src/cli/main.js
ENTRYPOINT ["tabby"]
CMD ["node", "run"]
