# Gatehouse in a container: a static binary on a distroless base, run as a
# non-root user, serving on 0.0.0.0:8080 with its SQLite file in /data.
#
#   docker build -t gatehouse --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -p 8080:8080 -v gatehouse-data:/data gatehouse
#
# Flags after the image name go to `gatehouse serve`; GATEHOUSE_* variables
# work as they do outside (GATEHOUSE_DB=postgres://… for PostgreSQL).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
# modernc.org/sqlite is pure Go, so the binary needs no C library at all.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/gatehouse ./cmd/gatehouse \
 && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
# The volume's mount point belongs to the image's user, so that a new named
# volume is writable by it.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV GATEHOUSE_ADDR=0.0.0.0:8080 \
    GATEHOUSE_DB=sqlite:/data/gatehouse.db
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gatehouse", "serve"]
