#!/usr/bin/env bash
# Sets everything up and runs every test. Ends with one line: "tests: N passed, M failed",
# counting GoogleTest test cases across all Bazel test targets.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --no-build || exit 1

bazel test //... 2>&1 | grep -v "^WARNING: Download from" | tee /tmp/infrakit-test.log
rc=${PIPESTATUS[0]}

passed=0
failed=0
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
while IFS= read -r xml; do
  # The first <testsuites ...> line carries the totals of one test target.
  line=$(grep -m1 '<testsuites' "$xml" || true)
  t=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")
  f=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")
  e=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")
  d=$(sed -n 's/.* disabled="\([0-9]*\)".*/\1/p' <<<"$line")
  t=${t:-0}; f=${f:-0}; e=${e:-0}; d=${d:-0}
  passed=$((passed + t - f - e - d))
  failed=$((failed + f + e))
done < <(bazel query 'tests(//...)' 2>/dev/null | sed -e 's|^//||' -e 's|:|/|' |
         while read -r t; do [ -f "$testlogs/$t/test.xml" ] && echo "$testlogs/$t/test.xml"; done)

# A target that failed without a test failing in its XML (crash, timeout): count it as one.
crashed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' /tmp/infrakit-test.log || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=$(( crashed > 0 ? crashed : 1 ))
fi
echo "tests: ${passed} passed, ${failed} failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
