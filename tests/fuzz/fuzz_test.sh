#!/usr/bin/env bash
# Runs every fuzz target 8 seconds on its committed corpus (see build_and_run.sh).
set -euo pipefail
exec bash tests/fuzz/build_and_run.sh run tests/fuzz "${FUZZ_SECONDS:-8}"
