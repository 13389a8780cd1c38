#!/usr/bin/env bash
# The peer links' transport against Netty: what two workers exchange each step of
# `launch --workers 2` with the default model (a partial sum and a reduced chunk of 470 kB each
# way, the worker's own protobuf frames), over loopback, in one JVM, rounds interleaved.
# Prints steps/s and the process's CPU time per step (both members, every thread).
#
# Usage: deploy/bench/linkbench.sh [FLOATS_PER_CHUNK [STEPS_PER_ROUND [ROUNDS [TRANSPORTS]]]]
#   TRANSPORTS: all (default) or a comma list of tensorlink, netty-epoll, netty-nio.
#   LINKBENCH_TUNED=true gives Netty reads of up to 1 MB and frames gathered without copying.
# Needs Maven Central once (Netty is the benchmark's dependency, never the product's).
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B install -DskipTests
cd deploy/bench/linkbench
cp=$(mktemp)
mvn -q -B compile dependency:build-classpath -Dmdep.outputFile="$cp"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE java -XX:+UseSerialGC -Dlinkbench.tuned="${LINKBENCH_TUNED:-false}" \
  -cp "target/classes:$(cat "$cp")" io.syncgrad.bench.LinkBench "${1:-117573}" "${2:-3000}" "${3:-4}" "${4:-all}" \
  2>&1 | grep -v '^SLF4J'
rm -f "$cp"
