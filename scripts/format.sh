#!/usr/bin/env bash
# Formats every tracked C++ and proto file with the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cc' '*.h' '*.proto' | grep -v '^third_party/' | xargs clang-format --style=file -i
