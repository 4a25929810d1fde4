# Portero in a container: a thin wrapper over `cargo xtask dist` (docs/deploy.md). Not exercised
# by CI: no Docker engine runs on the project's machines.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Installs the wasm32 target, trunk, wasm-bindgen-cli and wasm-opt, then builds dist/ and
# target/release/portero.
RUN cargo xtask dist

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/portero --create-home portero
COPY --from=build /src/target/release/portero /usr/local/bin/portero
COPY --from=build /src/dist /srv/portero/dist
USER portero
WORKDIR /var/lib/portero
ENV PORTERO_CONFIG=/etc/portero/portero.toml \
    PORTERO_SERVER__STATIC_DIR=/srv/portero/dist \
    PORTERO_LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/portero"]
