# syntax=docker/dockerfile:1
# An instrumented service image: `redmetrics demo`, an API with RED metrics at /metrics, as
# an application built on the redmetrics library would be packaged. It fits the Helm chart
# under deploy/helm/redmetrics-service (port name `http`, /v1/healthcheck, non-root,
# read-only root filesystem). Build at the repository root:
#   docker build -f docker/demo-service.Dockerfile -t redmetrics-demo .
#   docker run --rm -p 3000:3000 redmetrics-demo

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY bench/harness ./bench/harness
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p redmetrics-cli \
    && install -D target/release/redmetrics /out/redmetrics

# glibc only, no shell, no package manager; runs as uid 65532 and writes nothing.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/redmetrics /usr/local/bin/redmetrics
USER 65532:65532
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/redmetrics", "demo", "--listen", "0.0.0.0:3000"]
