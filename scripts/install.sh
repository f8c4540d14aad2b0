#!/usr/bin/env bash
# Installs InfraKit like a service (docs/install.md):
#   PREFIX/bin/                                 the binaries, built optimized (-c opt)
#   PREFIX/share/bash-completion/completions/   infrakitctl's bash completion
#   PREFIX/lib/systemd/system/                  systemd units: one per plugin, infrakit.target
#   PREFIX/share/doc/infrakit/install.md        what the units' Documentation= points to
#
#   scripts/install.sh [--prefix DIR] [--from DIR] [--no-setup]
#
#   --prefix DIR  where to install (default /usr/local; /usr/local/lib/systemd/system is on
#                 systemd's unit path). Then: systemctl daemon-reload &&
#                 systemctl enable --now infrakit.target
#   --from DIR    take the binaries from DIR, a tree with them at their Bazel package paths
#                 (a Bazel output tree, or a test's runfiles) instead of building them
#   --no-setup    build without scripts/setup.sh's package check (Bazel is there already)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

prefix=/usr/local
from=""
setup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --from) from=${2:?--from needs a directory}; shift 2 ;;
    --from=*) from=${1#--from=}; shift ;;
    --no-setup) setup=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) prefix=$(pwd)/$prefix ;;
esac

. "$repo/scripts/binaries.sh"
if [ -z "$from" ]; then
  cd "$repo"
  if [ "$setup" = 1 ]; then
    ./scripts/setup.sh --opt
  else
    bazel build -c opt "${INFRAKIT_BINARIES[@]}" 2>&1 | { grep -v "^WARNING: Download from" || true; }
  fi
  from=$(bazel info -c opt bazel-bin)
fi

bindir=$prefix/bin
unitdir=$prefix/lib/systemd/system
completiondir=$prefix/share/bash-completion/completions
docdir=$prefix/share/doc/infrakit
install -d -m 0755 "$bindir" "$unitdir" "$completiondir" "$docdir"

for label in "${INFRAKIT_BINARIES[@]}"; do
  path=${label#//}
  path=${path/://}
  if [ ! -x "$from/$path" ]; then
    echo "install: $from/$path is missing (build: bazel build -c opt $label)" >&2
    exit 1
  fi
  install -m 0755 "$from/$path" "$bindir/"
done
install -m 0644 "$repo/tools/infrakitctl/infrakitctl.bash" "$completiondir/infrakitctl"
install -m 0644 "$repo/docs/install.md" "$docdir/install.md"
for template in "$repo"/deploy/systemd/*.in; do
  unit=$(basename "$template" .in)
  sed -e "s|@BINDIR@|$bindir|g" -e "s|@DOCDIR@|$docdir|g" "$template" > "$unitdir/$unit.tmp"
  chmod 0644 "$unitdir/$unit.tmp"
  mv "$unitdir/$unit.tmp" "$unitdir/$unit"
done

echo "install: installed ${#INFRAKIT_BINARIES[@]} binaries in $bindir, systemd units in $unitdir"
if [ "$unitdir" = /usr/local/lib/systemd/system ] || [ "$unitdir" = /usr/lib/systemd/system ]; then
  echo "install: start them with: systemctl daemon-reload && systemctl enable --now infrakit.target"
fi
