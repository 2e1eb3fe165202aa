# syntax=docker/dockerfile:1
# The rill image built inside a Rust builder image (needs a registry to pull it from).
# Offline, scripts/image.sh builds the same image from a binary built on the host.
#
#   docker build -t rill:dev .
#   docker run --rm --network host rill:dev
ARG RUST_IMAGE=rust:1.95-bookworm
FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN target="$(uname -m)-unknown-linux-gnu" \
 && RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" \
 && mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp \
 && cp "target/$target/release/rill" /out/rill && strip /out/rill

# Runtime stage: the same lines as scripts/image/Dockerfile.
FROM scratch
COPY --from=build /out/rill /rill
COPY --from=build --chown=65532:65532 /out/data /var/lib/rill
COPY --from=build --chown=65532:65532 /out/tmp /tmp
ENV XDG_DATA_HOME=/var/lib RILL_READY_FILE=/tmp/rill.ready
USER 65532:65532
VOLUME /var/lib/rill
EXPOSE 9092
HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=3 CMD ["/rill", "health"]
ENTRYPOINT ["/rill", "serve"]
