#!/usr/bin/env bash
# The main job: sets everything up (Debian packages, and the binaries built optimized with
# `-c opt`: scripts/setup.sh --opt), then runs the default plugins in the foreground with infrakitctl's launcher -- group, instance-file
# (instances as files in ./tutorial, as in the original InfraKit's tutorial), flavor-vanilla and
# instance-process, those of them that are built -- until Ctrl-C, which stops them all and
# removes their sockets. A plugin that dies is restarted.
#
# Extra arguments go to `infrakitctl plugin start`, e.g. --plugins-dir DIR or --quiet.
# INFRAKIT_SKIP_SETUP=1 skips scripts/setup.sh (everything is installed and built already).
# The binaries run from Bazel's -c opt output tree, which bazel-bin points to after this script's
# build (scripts/test.sh builds with the default fastbuild and moves bazel-bin back).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${INFRAKIT_SKIP_SETUP:-}" != 1 ]; then
  ./scripts/setup.sh --opt
fi

bin=$(bazel info -c opt bazel-bin 2>/dev/null || true)
ctl=$bin/tools/infrakitctl/infrakitctl
if [ -z "$bin" ] || [ ! -x "$ctl" ]; then
  echo "run: infrakitctl is not built; build it with: bazel build -c opt //tools/infrakitctl" >&2
  exit 1
fi

plugins=()
args=()
for entry in \
    group:services/group/server/infrakit-group \
    instance-file:plugins/instance/file/infrakit-instance-file \
    flavor-vanilla:plugins/flavor/vanilla/infrakit-flavor-vanilla \
    instance-process:plugins/instance/process/infrakit-instance-process; do
  name=${entry%%:*}
  if [ -x "$bin/${entry#*:}" ]; then
    plugins+=("$name")
    [ "$name" = instance-file ] && args+=("--instance-file-args=--dir ./tutorial")
  else
    echo "run: ${entry#*:} is not built; not starting $name" >&2
  fi
done
if [ ${#plugins[@]} -eq 0 ]; then
  echo "run: no plugin is built; build them with: ./scripts/setup.sh --opt" >&2
  exit 1
fi

echo "run: starting ${plugins[*]}; follow the tutorial from another terminal with $ctl" \
     "(see tools/infrakitctl/README.md); Ctrl-C stops the plugins."
exec "$ctl" plugin start "${plugins[@]}" "${args[@]}" "$@"
