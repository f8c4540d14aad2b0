#!/usr/bin/env bash
# Installs what InfraKit needs from Debian 12's packages (idempotent: installs only what is
# missing) and builds everything. Used by scripts/run.sh, scripts/test.sh and scripts/install.sh.
#
#   setup.sh             packages, then `bazel build //...` (fastbuild: every target and test)
#   setup.sh --no-build  packages only
#   setup.sh --opt       packages, then the shipped binaries (scripts/binaries.sh) with -c opt
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  bazel-bootstrap g++ git pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libgoogle-glog-dev libgflags-dev libgtest-dev libgmock-dev
  libcurl4-openssl-dev libssl-dev libyaml-cpp-dev
  curl procps python3 clang-format
  clang libclang-rt-14-dev
  systemd
  zookeeper docker.io
  vagrant busybox-static
  python3-grpcio python3-protobuf
  etcd-server etcd-client
)
# tests/interop's Node client runs /usr/bin/node and installs its npm packages with /usr/bin/npm:
# Debian's nodejs and npm. A machine that has both from elsewhere (whose nodejs package may
# conflict with Debian's npm) keeps them.
if [ ! -x /usr/bin/node ] || [ ! -x /usr/bin/npm ]; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# etcd's v3 API protos (the group service's etcd store) come from Debian's golang-etcd-server-dev,
# read by the build from where it is unpacked (bazel/etcd_protos.bzl). Installing it would pull
# 136 packages; unpacking the one .deb is enough.
ETCD_PROTO_DIR=/var/cache/infrakit/golang-etcd-server-dev
if [ ! -f "$ETCD_PROTO_DIR/usr/share/gocode/src/go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto" ] &&
   [ ! -f /usr/share/gocode/src/go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto ]; then
  echo "setup: unpacking golang-etcd-server-dev into $ETCD_PROTO_DIR"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  scratch=$(mktemp -d)
  chmod 755 "$scratch"  # apt's download user writes into it
  if ! (cd "$scratch" && apt-get download -q golang-etcd-server-dev >/dev/null 2>&1); then
    $SUDO apt-get update -q || true
    (cd "$scratch" && apt-get download -q golang-etcd-server-dev)
  fi
  $SUDO rm -rf "$ETCD_PROTO_DIR.new"
  $SUDO mkdir -p "$ETCD_PROTO_DIR.new"
  $SUDO dpkg -x "$scratch"/golang-etcd-server-dev_*.deb "$ETCD_PROTO_DIR.new"
  $SUDO rm -rf "$ETCD_PROTO_DIR"
  $SUDO mv "$ETCD_PROTO_DIR.new" "$ETCD_PROTO_DIR"
  rm -rf "$scratch"
fi

if [ "${1:-}" = "--opt" ]; then
  . scripts/binaries.sh
  if ! bazel build -c opt "${INFRAKIT_BINARIES[@]}" 2>&1 |
       { grep -v "^WARNING: Download from" || true; }; then
    echo "setup: build failed (run: bazel build -c opt ${INFRAKIT_BINARIES[*]})" >&2
    exit 1
  fi
elif [ "${1:-}" != "--no-build" ]; then
  # Bazel 4 prints a warning for every repository it would have downloaded (all are local
  # stand-ins here, see third_party/README.md); hide those, keep the rest.
  if ! bazel build //... 2>&1 | { grep -v "^WARNING: Download from" || true; }; then
    echo "setup: build failed (run: bazel build //...)" >&2
    exit 1
  fi
fi
