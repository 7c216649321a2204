#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz), replays the committed
# regression inputs, then fuzzes each target for a bounded time from seeds cut
# out of the real fixtures and generated traces.
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated subset of: reader decompress schema extractor pcapng
#   FUZZ_BUILD_DIR default <repo>/build-fuzz
# Any crash, sanitizer report, leak, timeout (>10 s on one input), OOM
# (>2048 MB) or failed invariant makes the exit status non-zero; the input
# that caused it is kept under $FUZZ_BUILD_DIR/artifacts and its path printed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"reader decompress schema extractor pcapng"}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
artifacts="$build/artifacts"
log() { printf '[fuzz %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

max_len() {
  case $1 in
    reader) echo 131072 ;;      # whole small traces (4-8 KiB buffers) and the start of big ones
    decompress) echo 131072 ;;  # one compressed buffer's stream
    schema) echo 16384 ;;       # a TRACE_EVENT_INFO blob or TL metadata plus a payload
    extractor) echo 32768 ;;    # dozens of packet events
    pcapng) echo 32768 ;;
  esac
}

for tool in clang clang++ cmake; do
  command -v $tool >/dev/null || { echo "fuzz: $tool not found" >&2; exit 2; }
done

# One run per build dir at a time (a second test run waits here instead of
# rebuilding under the first one's feet).
mkdir -p "$build"
exec 9>"$build/.lock"
if ! flock -n 9; then
  log "waiting for another run using $build"
  flock 9
fi

t0=$(date +%s)
log "configure + build ($build)"
if ! CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DETL_FUZZ=ON -DETL_ADDON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1; then
  cat "$build/configure.log"; exit 2
fi
targets_build=""
for t in $targets; do targets_build+=" fuzz_$t"; done
if ! cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-1}" --target $targets_build make_seeds >"$build/build.log" 2>&1; then
  tail -50 "$build/build.log"; exit 2
fi
log "built in $(( $(date +%s) - t0 )) s"
mkdir -p "$artifacts"

status=0
failures=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Regressions first: every committed input must still run clean.
for t in $targets; do
  dir="$root/test/fuzz/regressions/$t"
  [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
  if "$build/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "$dir"/* >"$build/regress-$t.log" 2>&1; then
    log "regressions $t: $(ls "$dir" | wc -l) input(s) ok"
  else
    log "regressions $t: FAILED"; tail -40 "$build/regress-$t.log"
    status=1; failures+=("regression $t")
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/etl-imds-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
t1=$(date +%s)
if ! "$root/test/fuzz/make-corpus.sh" "$work/corpus" "$build" >"$work/corpus.log" 2>&1; then
  cat "$work/corpus.log"; exit 2
fi
log "seed corpora in $(( $(date +%s) - t1 )) s: $(grep -o '[a-z]* *[0-9]* seeds' "$work/corpus.log" | tr -s ' ' | paste -sd, -)"

for t in $targets; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  rm -f "$artifacts/$t-"*
  log "fuzz_$t for ${seconds} s (max_len $(max_len $t))"
  FUZZ_TMPDIR="$work" "$build/fuzz_$t" "$corpus" -max_total_time="$seconds" -max_len="$(max_len $t)" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix="$artifacts/$t-" \
    -print_final_stats=1 >"$work/$t.log" 2>&1
  rc=$?
  stats=$(grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$work/$t.log" | sed 's/stat:://' | tr -s ' ' | paste -sd' ' -)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$t.log" | tail -1)
  if [ $rc -eq 0 ]; then
    log "fuzz_$t ok: $cov $stats"
  else
    status=1
    failures+=("fuzz_$t")
    log "fuzz_$t FAILED (exit $rc)"
    grep -A30 -m1 -E '==ERROR|runtime error|INVARIANT|ALARM|out-of-memory|malloc\(' "$work/$t.log" | head -40
    for a in "$artifacts/$t-"*; do
      [ -e "$a" ] && echo "reproducer: $a   (replay: $build/fuzz_$t $a)"
    done
    cp "$work/$t.log" "$artifacts/$t.log"
  fi
done

log "total $(( $(date +%s) - t0 )) s"
if [ $status -ne 0 ]; then
  echo "fuzz: FAILED: ${failures[*]}"
else
  echo "fuzz: all targets clean"
fi
exit $status
