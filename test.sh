#!/usr/bin/env bash
# Runs every test. Needs the .NET 10 SDK, Node.js with npm (the web app is built by dotnet build through npm), PostgreSQL's
# server binaries and Chromium (both installed here through apt when missing and run as root), and the shared test models
# (../shared/models beside the repository, or PARLEY_TEST_MODELS). Prints "N passed, N failed" and exits non-zero on any failure.
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

# Debian packages the tests drive as real processes: PostgreSQL (the database tests start their own server) and
# Chromium (the browser tests). Installed with apt when missing and run as root.
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: the tests need ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
# One test project at a time (-m:1): run side by side on two cores, each one's engine and browser
# starved the others, and a browser test waiting on a page timed out.
dotnet test Parley.slnx -c Release -m:1 --logger "trx;LogFilePrefix=parley" --results-directory "$results" || status=$?

# The engine's fallbacks, with the runtime told to leave this CPU's extensions unused: every engine
# test without AVX-512 and AVX-VNNI (as on most AVX2 CPUs), the kernel tests without AVX2 (the
# scalar kernels, which ARM runs).
engine=tests/Parley.Inference.Tests
DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0 dotnet test "$engine" -c Release --no-build \
  --logger "trx;LogFilePrefix=engine-avx2" --results-directory "$results" || status=$?
DOTNET_EnableAVX2=0 dotnet test "$engine" -c Release --no-build --filter "FullyQualifiedName~KernelTests" \
  --logger "trx;LogFilePrefix=engine-scalar" --results-directory "$results" || status=$?

# The web app's component tests (Vitest); dotnet build has installed its packages.
(cd web && npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json") || status=$?

passed=0 failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ -f "$results/vitest.json" ]; then
  read -r p f < <(node -e 'const r=require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests)' "$results/vitest.json")
  passed=$((passed + p))
  failed=$((failed + f))
fi
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
