# alluxio-fuse container image, built from this source tree.
#
#   docker build -t alluxio-fuse:0.1.0 .
#   docker run --rm alluxio-fuse:0.1.0 --version
#
# Two stages: the build stage has the compilers and -dev packages (the same apt packages as
# scripts/install-deps.sh), the runtime stage only the shared libraries the binary links and the
# fuse3 tools (fusermount3 for unmount). Running it needs /dev/fuse and the privileges described
# in docs/OPERATIONS.md and conf/kubernetes/.
# Not built in CI (no Docker engine there); tests/integration/test_k8s_manifests.py checks its
# package lists statically.

FROM debian:12-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config git ca-certificates \
      libfuse3-dev liburing-dev \
      libcurl4-openssl-dev libssl-dev \
      libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev \
      prometheus-cpp-dev libcpp-httplib-dev libsystemd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DALLUXIO_FUSE_TESTS=OFF \
 && ninja -C /build alluxio-fuse \
 && DESTDIR=/out cmake --install /build --strip

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      ca-certificates fuse3 libfuse3-3 liburing2 \
      libcurl4 libssl3 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libcpp-httplib0.11 libsystemd0 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/cache/alluxio-fuse /var/lib/alluxio-fuse /etc/alluxio-fuse /mnt/alluxio
COPY --from=build /out/usr/bin/alluxio-fuse /usr/bin/alluxio-fuse
COPY --from=build /out/usr/share/alluxio-fuse /usr/share/alluxio-fuse
# The metrics and /healthz port (metrics.listen must be 0.0.0.0:49999 for probes).
EXPOSE 49999
ENTRYPOINT ["/usr/bin/alluxio-fuse"]
CMD ["--help"]
