#!/usr/bin/env bash
# Runs every test. Needs the .NET 10 SDK, Node.js with npm, and the shared test models (../shared/models beside the
# repository, or PARLEY_TEST_MODELS). Prints "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2
  exit 1
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "test.sh: Node.js 20+ with npm is required (the API is also tested with the npm 'openai' package)" >&2
  exit 1
fi
npm ci --prefix tests/node-client --no-audit --no-fund --loglevel=error

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
dotnet test Parley.slnx -c Release --logger "trx;LogFilePrefix=parley" --results-directory "$results" || status=$?

passed=0 failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
