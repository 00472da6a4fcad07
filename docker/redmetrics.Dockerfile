# syntax=docker/dockerfile:1
# The `redmetrics` command, for CI jobs that run `redmetrics generate --check` and
# `redmetrics check`. Build at the repository root:
#   docker build -f docker/redmetrics.Dockerfile -t redmetrics .
#   docker run --rm -v "$PWD:/work" redmetrics generate --check

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY bench/harness ./bench/harness
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p redmetrics-cli \
    && install -D target/release/redmetrics /out/redmetrics

# glibc and CA certificates, no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/redmetrics /usr/local/bin/redmetrics
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/redmetrics"]
CMD ["--help"]
