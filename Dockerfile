# The rollout controller's image, as manifests/deployment.yaml runs it
# (ghcr.io/rolloutlab/rollouts-controller, entrypoint /rollouts-controller, user 65532):
#
#   docker build -t ghcr.io/rolloutlab/rollouts-controller:latest .
#
# A static binary (no cgo) on distroless/static, whose nonroot user is 65532.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a change of the sources reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/rollouts-controller ./cmd/rollouts-controller

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/rollouts-controller /rollouts-controller
USER 65532:65532
# healthz (/healthz, /readyz) and metrics, Argo's ports
EXPOSE 8080 8090
ENTRYPOINT ["/rollouts-controller"]
