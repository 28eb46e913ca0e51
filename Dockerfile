# A static wasmctl-host image with the sample plugins in /plugins.
#   docker build -t wasmctl/wasmctl-host:latest .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/wasmctl-host ./cmd/wasmctl-host
RUN for p in workloads replicaset deployment statefulset daemonset cronjob job propagator; do \
      GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o /out/plugins/$p.wasm ./plugins/$p/cmd; \
    done

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/wasmctl-host /usr/local/bin/wasmctl-host
COPY --from=build /out/plugins /plugins
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/wasmctl-host"]
CMD ["run", "--config=/etc/wasmctl/config.yaml", "--leader-elect"]
