#!/usr/bin/env bash
# Runs every test. Needs the .NET 10 SDK, Node.js with npm, PostgreSQL's server binaries (installed here through apt when
# missing and run as root), and the shared test models (../shared/models beside the repository, or PARLEY_TEST_MODELS). Prints "N passed, N failed" and exits non-zero on any failure.
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

# PostgreSQL (Debian's package) for the database tests, which start their own server as a plain process.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing PostgreSQL (apt-get install postgresql)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "test.sh: PostgreSQL is required for the database tests: sudo apt-get install postgresql" >&2
    exit 1
  fi
fi

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
