#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds into ./build (or $BUILD_DIR) and installs the hook into
# $BUILD_DIR/e2e-prefix, the prefix the demo and the end-to-end tests use.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
cmake --install "$build" --prefix "$build/e2e-prefix" >/dev/null
