#!/usr/bin/env bash
# Runs Schemathesis on conform's OpenAPI export against `conform mock`: the
# mock must answer every generated request without a server error and with
# responses that conform to the document (every Schemathesis check, minus
# the exceptions interop/schemathesis.toml explains).
#
#   interop/schemathesis.sh [extra `schemathesis run` options]
#
# Environment: MAX_EXAMPLES (25 per operation; the stateful phase's 150
# walks are set in interop/schemathesis.toml), TIME_LIMIT
# (seconds for the Schemathesis run, 600), CONTRACT (conform's default, the
# newest release; e.g. CONTRACT=0.1.9), PROFILE
# (conformant; regressed-0.1.8 shows what a failing run looks like),
# CONFORM (a conform binary to use instead of `cargo build --release`).
# Exits with Schemathesis' exit code: 0 clean, 1 failures, 124 time limit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MAX_EXAMPLES=${MAX_EXAMPLES:-25}
TIME_LIMIT=${TIME_LIMIT:-600}
CONTRACT=${CONTRACT:-}
PROFILE=${PROFILE:-conformant}
VENV=target/interop-venv
OUT=target/interop

# A venv of our own, so the pinned Schemathesis never meets the system's.
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r interop/requirements.txt

if [ -n "${CONFORM:-}" ]; then
    conform=$CONFORM
else
    cargo build --release
    conform=target/release/conform
fi
mkdir -p "$OUT"
contract=()
if [ -n "$CONTRACT" ]; then
    contract=(--contract "$CONTRACT")
fi
"$conform" openapi "${contract[@]}" --out "$OUT/openapi.json"

# Port 0: the OS picks a free port, and the mock prints the address it got.
"$conform" mock --profile "$PROFILE" "${contract[@]}" --addr 127.0.0.1:0 >"$OUT/mock.log" 2>&1 &
mock=$!
trap 'kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^token=' "$OUT/mock.log" && break
    kill -0 "$mock" 2>/dev/null || break
    sleep 0.1
done
base_url=$(sed -n 's/^base_url=//p' "$OUT/mock.log")
token=$(sed -n 's/^token=//p' "$OUT/mock.log")
if [ -z "$base_url" ] || [ -z "$token" ]; then
    echo "conform mock did not start:" >&2
    cat "$OUT/mock.log" >&2
    exit 2
fi

# Every check runs: in Schemathesis 4 that is the default, so no --checks.
# --max-redirects 0: the handoff's 303 points at checkout.stripe.com, which
# is the answer under test, never a place to go. No example database: it
# would land in ./.schemathesis and make runs depend on earlier ones.
status=0
timeout --kill-after=10 "$TIME_LIMIT" \
    "$VENV/bin/schemathesis" --config-file interop/schemathesis.toml run "$OUT/openapi.json" \
    --url "$base_url" \
    -H "Authorization: Bearer $token" \
    --max-examples "$MAX_EXAMPLES" \
    --max-redirects 0 \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    --report junit --report-dir "$OUT/report" \
    "$@" || status=$?
if [ "$status" -eq 124 ]; then
    echo "schemathesis: stopped after ${TIME_LIMIT}s (TIME_LIMIT)" >&2
fi
exit "$status"
