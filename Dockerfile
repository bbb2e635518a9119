# syntax=docker/dockerfile:1
# Build: a static binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/wachtwijzer/wachtwijzer/app.Version=${VERSION}" -o /out/wachtwijzer ./cmd/wachtwijzer

# Run: Debian slim with redis-server, so `docker run … serve --demo` gets a
# real, persistent embedded Redis under /data. Authentication is on: --demo
# (and the default command's --demo-clients) print ready-to-use tokens of the
# demo clients; in production mount an --auth-config (WACHTWIJZER_AUTH_CONFIG).
# For production, point REDIS_URL (or WACHTWIJZER_REDIS_CLUSTER) at your
# Redis; see docker-compose.yml.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home wachtwijzer
COPY --from=build /out/wachtwijzer /usr/local/bin/wachtwijzer
USER wachtwijzer
WORKDIR /data
ENV WACHTWIJZER_ADDR=0.0.0.0:8080 \
    WACHTWIJZER_DATA_DIR=/data \
    WACHTWIJZER_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["wachtwijzer", "healthcheck"]
ENTRYPOINT ["wachtwijzer"]
CMD ["serve", "--embedded", "--demo-clients"]
