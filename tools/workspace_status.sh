#!/usr/bin/env bash
# Stamps binaries with the git revision (see //tools/version:version_info).
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
short=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then short="${short}.m"; fi
echo "STABLE_GIT_REVISION ${rev}"
echo "STABLE_GIT_VERSION ${short}"
