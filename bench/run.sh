#!/usr/bin/env bash
# Tanggap's benchmark suite (issue 6). Results go to stdout as RESULT lines; BENCHMARKS.md
# records a run. Needs: a release build (`cargo build --release`), wrk (Debian `wrk`; installed
# here if missing), PostgreSQL on 127.0.0.1:5432 for the PostgreSQL half.
#
#   bench/run.sh intake   [sqlite|postgres] [full|normal]  # POST /api/tickets at 1, 4, 16 clients
#                                             # + raw diesel loop (SQLite: FULL and NORMAL)
#   bench/run.sh queue    [sqlite|postgres]   # 1M tickets, queue JSON + HTML at 1 and 64 clients
#   bench/run.sh tick     [sqlite|postgres]   # one `tanggap tick` over the 1M tickets
#   bench/run.sh scanload                     # intake p99 alone and while a scan writes 50,000 alerts
#   bench/run.sh mail     [sqlite|postgres]   # outbox → SMTP mails/s beside postfix's smtp-source
#   bench/run.sh memory                       # RSS idle / under 64 clients, start-up time
#
# BENCH_SECONDS (default 10) per wrk run; BENCH_RUNS (default 3) runs per figure (take the median).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${BENCH_BIN:-$root/target/release/tanggap}
[ -x "$bin" ] || { echo "build first: cargo build --release"; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
work=${BENCH_DIR:-/tmp/tanggap-bench}
port=18700
# Lets wrk_run read the server's own latency (GET /metrics) before and after each run.
metrics_token=bench-metrics-token-0123456789abcdef
pg_base=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$work"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); commit $(git rev-parse --short HEAD); $(date -u +%F)"

# start_server <name> <backend> [extra env...]: a fresh server; sets $pid, $TOKEN, $COOKIE.
start_server() {
  local name=$1 backend=$2; shift 2
  local dir=$work/$name
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$dir"; fi
  mkdir -p "$dir"
  local db_env=(TANGGAP_DATA_DIR="$dir/data" TANGGAP_JWT_SECRET=bench-secret-that-is-long-enough-0123456789abcdef)
  db_env+=(TANGGAP_METRICS_TOKEN="$metrics_token")
  if [ "$backend" = postgres ]; then
    db_env+=(DATABASE_URL="$pg_base/tanggap_bench_$name")
    if [ "${KEEP_DATA:-0}" != 1 ]; then
      psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS tanggap_bench_$name" -c "CREATE DATABASE tanggap_bench_$name" >/dev/null
    fi
  fi
  export BENCH_ENV="${db_env[*]}"
  env -u DATABASE_URL "${db_env[@]}" TANGGAP_BIND=127.0.0.1:$port TANGGAP_TICK_SECONDS=0 "$@" \
    "$bin" serve >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  if ! env -u DATABASE_URL "${db_env[@]}" "$bin" user list 2>/dev/null | grep -q bench@toko.test; then
    echo "bench kopi susu gula aren 2026" | env -u DATABASE_URL "${db_env[@]}" "$bin" user add \
      --email bench@toko.test --name Bench --role agent >/dev/null
  fi
  TOKEN=$(curl -fsS -X POST "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@toko.test","password":"bench kopi susu gula aren 2026"}' |
    python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
  COOKIE="tanggap_session=$TOKEN"
  export TOKEN COOKIE
}

stop_server() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

# wrk_run <label> <clients> <script> <path>: BENCH_RUNS runs, prints each RESULT (as wrk saw
# it), the server-side p50/p99 (GET /metrics before and after: the time from a request's
# arrival at the app to its answer, without the load generator's own waits) and the load
# generator's CPU (user+sys seconds).
wrk_run() {
  local label=$1 clients=$2 script=$3 path=$4
  local threads=$(( clients < 2 ? 1 : 2 ))
  for r in $(seq 1 "$runs"); do
    local out
    curl -fsS -H "Authorization: Bearer $metrics_token" "http://127.0.0.1:$port/metrics" >"$work/metrics.before"
    out=$( { /usr/bin/time -f "wrkcpu=%U+%S" wrk -t"$threads" -c"$clients" -d"${secs}s" --latency \
      -s "$root/bench/$script" "http://127.0.0.1:$port$path" ; } 2>&1 )
    curl -fsS -H "Authorization: Bearer $metrics_token" "http://127.0.0.1:$port/metrics" >"$work/metrics.after"
    echo "$label clients=$clients run=$r $(echo "$out" | grep RESULT | sed 's/RESULT //') $(python3 "$root/bench/server_latency.py" "$work/metrics.before" "$work/metrics.after") $(echo "$out" | grep -o 'wrkcpu=[0-9.+]*')"
  done
}

intake() {
  local backend=${1:-sqlite} synchronous=${2:-full}
  start_server intake "$backend" TANGGAP_SQLITE_SYNCHRONOUS="$synchronous"
  for c in 1 4 16; do wrk_run "intake/$backend/$synchronous" "$c" intake.lua /api/tickets; done
  stop_server
  # The storage limit: the same rows in the same number of transactions, no HTTP.
  local target
  if [ "$backend" = postgres ]; then
    psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS tanggap_bench_raw" -c "CREATE DATABASE tanggap_bench_raw" >/dev/null
    target="$pg_base/tanggap_bench_raw"
  else
    target="$work/raw.db"
  fi
  for r in $(seq 1 "$runs"); do
    cargo bench -q --bench storage -- "$target" 5000 full
    [ "$backend" = sqlite ] && cargo bench -q --bench storage -- "$target" 20000 normal
  done
}

queue() {
  local backend=${1:-sqlite}
  if [ "${KEEP_DATA:-0}" != 1 ]; then
    start_server queue "$backend"; stop_server
    local started=$(date +%s.%N)
    env -u DATABASE_URL $BENCH_ENV "$bin" demo-data --tickets 1000000 --overdue 50000 2>&1 | tail -2
    echo "demo-data 1M/$backend: $(echo "$(date +%s.%N) - $started" | bc) s"
  fi
  KEEP_DATA=1 start_server queue "$backend"
  # The demo agent's own token, so "mine" and "escalated to me" have tickets.
  TOKEN=$(curl -fsS -X POST "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"budi.cs@toko.test","password":"demo kopi susu gula aren"}' |
    python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
  COOKIE="tanggap_session=$TOKEN"; export TOKEN COOKIE
  local open="new,acknowledged,listened,understood,solution_proposed,escalated"
  for c in 1 64; do
    wrk_run "queue-json/mine/$backend" $c get.lua "/api/tickets?assignee=me&stage=$open"
    wrk_run "queue-json/overdue/$backend" $c get.lua "/api/tickets?overdue=true"
    wrk_run "queue-json/escalated/$backend" $c get.lua "/api/tickets?escalated_to=me"
    wrk_run "queue-json/stage/$backend" $c get.lua "/api/tickets?stage=solution_proposed"
    wrk_run "queue-json/search/$backend" $c get.lua "/api/tickets?q=jahitan"
    wrk_run "queue-html/mine/$backend" $c get.lua "/queue?tab=mine"
    wrk_run "queue-html/overdue/$backend" $c get.lua "/queue?tab=overdue"
    wrk_run "queue-html/search/$backend" $c get.lua "/queue?tab=all&q=jahitan"
  done
  stop_server
}

tick() {
  local backend=${1:-sqlite}
  KEEP_DATA=1 start_server queue "$backend"; stop_server
  local started=$(date +%s.%N)
  env -u DATABASE_URL $BENCH_ENV TANGGAP_MAIL_URL=log: RUST_LOG=warn "$bin" tick | python3 "$root/bench/tick_report.py" "tick/$backend"
  echo "tick/$backend: $(echo "$(date +%s.%N) - $started" | bc) s"
}

# scanload: ticket intake p99 (4 clients) on the 1M database, first alone, then while the
# server's own scheduler pass writes the 50,000 overdue alerts. Needs BENCH_PRISTINE: a copy of
# the queue benchmark's directory made right after demo-data (each half starts from it).
scanload() {
  local pristine=${BENCH_PRISTINE:?a pristine copy of $work/queue, made after demo-data}
  for phase in alone during-scan; do
    rm -rf "$work/queue"; cp -a "$pristine" "$work/queue"; sync
    if [ "$phase" = alone ]; then
      KEEP_DATA=1 start_server queue sqlite
    else
      # The scheduler's first pass starts with the server; wrk runs inside the scan.
      KEEP_DATA=1 start_server queue sqlite TANGGAP_TICK_SECONDS=3600 TANGGAP_MAIL_URL=log: \
        RUST_LOG=warn,tanggap::jobs=debug
    fi
    secs=${SCANLOAD_SECONDS:-5} runs=1 wrk_run "scanload/$phase" 4 intake.lua /api/tickets
    if [ "$phase" = during-scan ]; then
      for _ in $(seq 1 600); do grep -q "scheduler pass" "$work/queue/serve.log" && break; sleep 0.5; done
      grep -o 'scan_ms: [0-9]*\|find_ms: [0-9.]*\|longest_write_ms: Some([0-9.]*)\|overdue_alerts: [0-9]*' "$work/queue/serve.log" | tr '\n' ' '; echo
    fi
    stop_server
  done
}

memory() {
  local dir=$work/start
  rm -rf "$dir"; mkdir -p "$dir"
  local t0=$(date +%s.%N)
  cd "$dir"
  env -u DATABASE_URL TANGGAP_BIND=127.0.0.1:$port "$bin" serve >"$dir/out.log" 2>&1 &
  echo $! >"$dir/pid"
  cd "$root"
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.01; done
  echo "start-up on an empty directory: $(echo "$(date +%s.%N) - $t0" | bc) s"
  kill -9 "$(cat "$dir/pid")"; sleep 0.5
  start_server memory sqlite
  sleep 1
  echo "rss idle: $(awk '/VmRSS/ {print $2}' /proc/$pid/status) kB"
  wrk -t2 -c64 -d"${secs}s" -s "$root/bench/intake.lua" "http://127.0.0.1:$port/api/tickets" >/dev/null &
  local w=$!
  local peak=0
  while kill -0 $w 2>/dev/null; do
    local now; now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$now" -gt "$peak" ] && peak=$now; sleep 0.2
  done
  echo "rss peak under 64 clients (intake): $peak kB; VmHWM $(awk '/VmHWM/ {print $2}' /proc/$pid/status) kB"
  stop_server
}

mail() {
  command -v smtp-sink >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
    postfix stop >/dev/null 2>&1 || true
  }
  local sinkport=2525 n=${BENCH_MAILS:-5000}
  smtp-sink -u nobody -c 127.0.0.1:$sinkport 1000 >/dev/null 2>&1 & local sink=$!
  sleep 0.5
  for sessions in 1 4; do
    local t0=$(date +%s.%N)
    smtp-source -s $sessions -m "$n" -l 6000 -f bench@toko.test -t sink@toko.test 127.0.0.1:$sinkport
    local dt; dt=$(echo "$(date +%s.%N) - $t0" | bc)
    echo "mail/limit smtp-source sessions=$sessions: $n mails of 6 kB in $dt s = $(echo "$n / $dt" | bc) mails/s"
  done
  # Tanggap: an outbox filled by a scheduler pass (overdue alerts, multipart text+HTML, ~7 kB
  # each), then sent by the same pass's dispatcher to the sink.
  local dir=$work/mail backend=${1:-sqlite}
  rm -rf "$dir"; mkdir -p "$dir"
  local db_env=(TANGGAP_DATA_DIR="$dir/data" TANGGAP_JWT_SECRET=bench-secret-that-is-long-enough-0123456789abcdef)
  if [ "$backend" = postgres ]; then
    psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS tanggap_bench_mail" -c "CREATE DATABASE tanggap_bench_mail" >/dev/null
    db_env+=(DATABASE_URL="$pg_base/tanggap_bench_mail")
  fi
  env -u DATABASE_URL "${db_env[@]}" "$bin" migrate >/dev/null 2>&1
  env -u DATABASE_URL "${db_env[@]}" "$bin" demo-data --tickets 30000 --overdue "$n" >/dev/null 2>&1
  env -u DATABASE_URL "${db_env[@]}" TANGGAP_MAIL_URL="smtp://127.0.0.1:$sinkport" RUST_LOG=warn \
    "$bin" tick | python3 "$root/bench/tick_report.py" "mail/tanggap $backend"
  kill $sink
}

case "${1:-}" in
  intake) intake "${2:-sqlite}" "${3:-full}" ;;
  queue) queue "${2:-sqlite}" ;;
  tick) tick "${2:-sqlite}" ;;
  scanload) scanload ;;
  memory) memory ;;
  mail) mail "${2:-sqlite}" ;;
  *) sed -n 2,12p "$0"; exit 2 ;;
esac
