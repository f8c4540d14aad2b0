#!/bin/bash
# Regenerates third_party/system/hot_text.ld: runs the opt binaries under callgrind through the
# tutorial's life cycle (the group service, instance-file and flavor-vanilla: watch, converge,
# inspect, describe, a rolling update, a heal, a destroy; the other plugins started and asked
# Info; infrakitctl's inspect), then lists the input sections of the code they ran
# (tools/layout/hot_text.py). Needs valgrind (not installed by scripts/setup.sh: a developer's
# tool). Run it again when the code a plugin runs has moved a lot (a new gRPC, a refactoring):
# a stale list still links, it only gathers less.
#
#   tools/layout/profile.sh [WORK_DIR]     # default: a fresh /tmp/ik-layout-XXXXXX
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${1:-$(mktemp -d /tmp/ik-layout-XXXXXX)}
mkdir -p "$WORK/maps" "$WORK/cg" "$WORK/bin"
command -v valgrind >/dev/null || { echo "profile.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

# shellcheck source=scripts/binaries.sh
. scripts/binaries.sh
# Without the current hot_text.ld: valgrind names only the functions in .text.
bazel build -c opt --define=infrakit_layout=plain --linkopt="-Wl,-Map=$WORK/maps/" \
  "${INFRAKIT_BINARIES[@]}"
BAZEL_BIN=$(bazel info -c opt --define=infrakit_layout=plain bazel-bin)
declare -A BIN
for label in "${INFRAKIT_BINARIES[@]}"; do
  path=${label#//}
  path=${path/://}
  name=${path##*/}
  cp "$BAZEL_BIN/$path" "$WORK/bin/$name"
  BIN[$name]=$WORK/bin/$name
done

RUN=$(mktemp -d /tmp/ik-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT

# Starts BINARY under callgrind in the plugins directory $RUN; waits for its socket NAME.sock.
start() {
  local name=$1 sock=$2
  shift 2
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/cg/$name.%p" \
    "${BIN[$name]}" --plugins-dir "$RUN" "$@" >"$RUN/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1200); do [ -S "$RUN/$sock.sock" ] && return 0; sleep 0.1; done
  echo "profile.sh: $name did not start (see $RUN/$name.log)" >&2
  exit 1
}
ctl() { INFRAKIT_PLUGINS_DIR=$RUN "${BIN[infrakitctl]}" "$@"; }
# Waits until the instance directory holds N files.
files() {
  for _ in $(seq 1200); do
    [ "$(find "$RUN/instances" -maxdepth 1 -type f | wc -l)" -eq "$1" ] && return 0
    sleep 0.1
  done
  echo "profile.sh: never $1 instances" >&2
  exit 1
}
# Dumps every profiled process's counts so far, then kills it (its exit is not profiled).
dump_all() {
  for pid in "${PIDS[@]}"; do callgrind_control -d "$pid" >/dev/null; done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

mkdir -p "$RUN/instances"
start infrakit-instance-file instance-file --dir "$RUN/instances"
start infrakit-flavor-vanilla flavor-vanilla
start infrakit-group group --state-dir "$RUN/group"
ctl plugin ls
sed 's/"Size" : 5/"Size" : 20/' examples/tutorial/cattle.json >"$RUN/cattle.json"
sed 's/version 1.0/version 2.0/' "$RUN/cattle.json" >"$RUN/cattle-v2.json"
ctl group --name group watch "$RUN/cattle.json"
files 20
ctl group --name group inspect cattle >/dev/null
ctl instance --name instance-file describe >/dev/null
ctl group --name group describe "$RUN/cattle-v2.json"
ctl group --name group update "$RUN/cattle-v2.json"
rm "$(find "$RUN/instances" -maxdepth 1 -type f | head -1)"
sleep 1
files 20
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/cg/infrakitctl.%p" \
  "${BIN[infrakitctl]}" --plugins-dir "$RUN" group --name group inspect cattle >/dev/null 2>&1
ctl group --name group destroy cattle
files 0
dump_all

start infrakit-instance-process instance-process --dir "$RUN/processes"
start infrakit-flavor-zookeeper flavor-zookeeper
start infrakit-flavor-swarm flavor-swarm
ctl plugin ls
dump_all

specs=()
for name in infrakit-group infrakit-instance-file infrakit-flavor-vanilla infrakit-instance-process \
  infrakit-flavor-zookeeper infrakit-flavor-swarm infrakitctl; do
  profiles=$(find "$WORK/cg" -name "$name.*" -size +0 | paste -sd, -)
  [ -n "$profiles" ] && specs+=("${BIN[$name]}:$WORK/maps/$name.map:$profiles")
done
python3 tools/layout/hot_text.py "$ROOT/third_party/system/hot_text.ld" "${specs[@]}"
echo "profile.sh: wrote third_party/system/hot_text.ld (work files in $WORK)"
