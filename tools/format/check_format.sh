#!/usr/bin/env bash
# Fails (listing the files) when a tracked C++ or proto file differs from what clang-format makes
# of it with the repository's .clang-format. Run as a Bazel test (it finds the source tree through
# its .clang-format data dependency) or directly from the repository root.
set -uo pipefail

root=""
if [ -n "${TEST_SRCDIR:-}" ]; then
  # The runfile is a link into the source tree.
  root=$(dirname "$(readlink -f "$TEST_SRCDIR/infrakit/.clang-format")")
else
  root=$(git rev-parse --show-toplevel)
fi
cd "$root" || exit 1
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/setup.sh installs it)"; exit 1; }

bad=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done < <(git ls-files '*.cc' '*.h' '*.proto' | grep -v '^third_party/')

if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted (run scripts/format.sh):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "all $(git ls-files '*.cc' '*.h' '*.proto' | grep -vc '^third_party/') files formatted"
