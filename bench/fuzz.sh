#!/usr/bin/env bash
# Fuzz the JSON API from its own OpenAPI document with schemathesis.
#
#   bench/fuzz.sh [path/to/tanggap]        # default: target/release/tanggap (not built here)
#
# Starts the binary on a fresh, empty data directory and a fresh database, adds an admin with
# the CLI, signs in through POST /api/auth/login, and runs `schemathesis run` against
# /api/openapi.json with that token. It fails (exit 1) on any 5xx and on any response whose
# status code, content type or body the document does not describe, and always ends with one
# `fuzz:` summary line per backend (examples run, operations covered, failures).
#
# Settings (environment):
#   FUZZ_EXAMPLES   test cases per operation and phase (default 25: CI; 500 for a nightly run)
#   DATABASE_URL    unset: SQLite in the temp dir. postgres://…: a PostgreSQL server on which a
#                   throwaway database tanggap_fuzz_<pid> is created and dropped afterwards
#                   (the URL's own database is never written to)
#   FUZZ_PORT       port to serve on (default 18471)
#   FUZZ_SEED       schemathesis --seed, to replay a run (default: random, printed)
#   FUZZ_WORKERS    schemathesis --workers (default 2: the machine has two cores)
#   FUZZ_VENV       virtualenv for schemathesis (default target/schemathesis-venv)
#   FUZZ_REPORT_DIR where the JSON/JUnit reports and the server log go
#                   (default target/fuzz-report/<backend>)
#
# Exclusions (see bench/fuzz_hooks.py and the README's "Fuzzing the API"):
#   POST /api/auth/password and POST /api/auth/logout-all revoke the fuzzer's own token;
#   PATCH /api/users/{id} on the fuzzer's own id could deactivate or demote it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SCHEMATHESIS_VERSION=4.32.5
binary=${1:-${TANGGAP_BIN:-target/release/tanggap}}
case "$binary" in /*) ;; *) binary="$root/$binary" ;; esac
examples=${FUZZ_EXAMPLES:-25}
port=${FUZZ_PORT:-18471}
workers=${FUZZ_WORKERS:-2}
seed=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
venv=${FUZZ_VENV:-$root/target/schemathesis-venv}

[ -x "$binary" ] || { echo "fuzz: no executable at $binary (run cargo build --release)"; exit 1; }

# schemathesis in its own virtualenv, pinned, installed once.
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$venv/bin/schemathesis" --version

work=$(mktemp -d "${TMPDIR:-/tmp}/tanggap-fuzz.XXXXXX")
server_pid=""
pg_db=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql "$DATABASE_URL" -qtAc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The service's environment: nothing inherited from a developer's shell or .env (the binary
# runs with the temp dir as its working directory, so no .env is found either).
service_env=(
  "TANGGAP_BIND=127.0.0.1:$port"
  "TANGGAP_DATA_DIR=$work/data"
  "TANGGAP_MAIL_URL=file://$work/data/mail"
  "TANGGAP_ADMIN_EMAIL=first-admin@fuzz.test"
  "RUST_LOG=${RUST_LOG:-warn}"
)
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  backend=postgres
  pg_db="tanggap_fuzz_$$"
  psql "$DATABASE_URL" -qtAc "CREATE DATABASE $pg_db" >/dev/null
  service_env+=("DATABASE_URL=${DATABASE_URL%/*}/$pg_db" "TANGGAP_JWT_SECRET=fuzz-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')")
else
  backend=sqlite
  service_env+=("DATABASE_URL=sqlite://$work/data/tanggap.db")
fi
report=${FUZZ_REPORT_DIR:-$root/target/fuzz-report/$backend}
rm -f "$report"/json-*.json "$report"/junit-*.xml "$report"/server.*
mkdir -p "$report" "$work/data"
tanggap() { (cd "$work" && env -i PATH="$PATH" HOME="$work" "${service_env[@]}" "$binary" "$@"); }

echo "== fuzz: $backend, $examples examples per operation, seed $seed"
# An admin of our own, created before the first start (so no first admin with a one-time
# password is made) and with a password we choose (so it need not be changed before use).
password="fuzz $(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
tanggap migrate >/dev/null
printf '%s\n' "$password" | tanggap user add --email fuzz@fuzz.test --name Fuzz --role admin >/dev/null

(cd "$work" && exec env -i PATH="$PATH" HOME="$work" "${service_env[@]}" "$binary" serve) \
  >"$report/server.out" 2>"$report/server.log" &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "fuzz: the service exited"; cat "$report/server.log"; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null

login=$(curl -fsS -X POST "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  --data "{\"email\":\"fuzz@fuzz.test\",\"password\":\"$password\"}")
token=$("$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$login")
self_id=$("$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])' <<<"$login")

# A little data for the routes under /{id} to find (see bench/fuzz_hooks.py): two customers
# with a ticket each (which also puts their acknowledgement mail in the outbox).
for n in 1 2; do
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/tickets" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' --data "{\"kind\":\"complaint\",\"channel\":\"whatsapp\",\"subject\":\"Paket $n belum sampai\",\"words\":\"Sudah seminggu\",\"customer\":{\"name\":\"Pelanggan $n\",\"email\":\"pelanggan$n@fuzz.test\"}}"
done

started=$(date +%s)
set +e
(cd "$root/bench" && FUZZ_SELF_ID="$self_id" SCHEMATHESIS_HOOKS=fuzz_hooks \
  "$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --exclude-path /api/auth/password \
  --exclude-path /api/auth/logout-all \
  --max-examples "$examples" \
  --seed "$seed" \
  --workers "$workers" \
  --generation-database none \
  --request-timeout 30 \
  --suppress-health-check all \
  --no-color \
  --report json,junit --report-dir "$report")
status=$?
set -e
elapsed=$(( $(date +%s) - started ))

# The fuzzer must still be who it was: had it locked itself out, a green run would mean little.
me=$(curl -sS "http://127.0.0.1:$port/api/me" -H "Authorization: Bearer $token")
if ! grep -q '"role":"admin"' <<<"$me" || ! grep -q '"active":true' <<<"$me"; then
  echo "fuzz: the fuzzer's admin lost its access during the run: $me"
  status=1
fi
if grep -q 'request failed\|panicked' "$report/server.log"; then
  echo "fuzz: the server logged errors:"
  grep 'request failed\|panicked' "$report/server.log" | head -20
  status=1
fi

# The summary line CI logs and the README's figures come from: schemathesis' JSON report.
"$venv/bin/python" - "$report" "$backend" "$examples" "$elapsed" "$status" <<'PY'
import glob, json, sys
report, backend, examples, elapsed, status = sys.argv[1:]
paths = sorted(glob.glob(f"{report}/json-*.json"))
if not paths:
    print(f"fuzz: {backend}: no schemathesis report; exit {status}")
    sys.exit(0)
data = json.load(open(paths[-1]))
ops, cases = data["operations"], data["test_cases"]
# Operations that got at least one answer the API accepted (2xx), in any phase.
accepted = sum(
    1
    for phases in data.get("valid_rates", {}).values()
    if any(rate.get("accepted", 0) > 0 for rate in phases.values())
)
failures = sum(f.get("count", 1) for f in data.get("failures", []))
print(
    f"fuzz: {backend}: {cases['generated']} examples run, "
    f"{ops['tested']}/{ops['total']} operations covered ({ops['total'] - ops['selected']} excluded, "
    f"{accepted} reached a 2xx), {failures} failures, {len(data.get('errors', []))} errors, "
    f"max {examples} examples per operation and phase, {elapsed}s, exit {status}"
)
PY
exit "$status"
