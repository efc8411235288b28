#!/usr/bin/env bash
# The single place that installs what alluxio-fuse needs to build, test and demo.
# Idempotent: packages already present are skipped by apt; safe to run on every build.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libfuse3-dev fuse3 liburing-dev
  libcurl4-openssl-dev libssl-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  prometheus-cpp-dev libcpp-httplib-dev libsystemd-dev
  libgtest-dev libgmock-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  python3 python3-yaml curl procps psmisc util-linux attr rsync sqlite3 openssl
  etcd-server prometheus
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The etcd-server package starts a system etcd on 2379; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
echo "install-deps: ok"

# ---- s3 (owner: ufs/s3) ------------------------------------------------------------------
# s3rver, the S3-compatible server the S3 store tests run against, pinned in
# tests/s3/package.json + package-lock.json and installed into tests/s3/node_modules (git
# ignores it). Node and npm come from apt on a fresh Debian 12 machine.
S3_TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/s3"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: node/npm missing (apt packages nodejs npm); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$S3_TEST_DIR/node_modules/s3rver/package.json" ]; then
  echo "install-deps: installing s3rver into $S3_TEST_DIR/node_modules"
  (cd "$S3_TEST_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
# ---- end s3 ------------------------------------------------------------------------------
