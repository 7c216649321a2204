#!/usr/bin/env bash
# The native tests and drivers under AddressSanitizer + UndefinedBehaviorSanitizer
# (gcc by default; CXX=clang++ works too), build dir build-asan:
#   schema_test, capture_test (unit tests, real fixtures when present),
#   etl_dump --summary and capture_test --convert over every .etl in fixtures/,
#   ../shared/fixtures (when present) and the generated traces of
#   test/fuzz/gen-traces.mjs, and the fuzz regression inputs through the
#   fuzz targets built as plain replay programs.
# Fails (non-zero) on any sanitizer report, crash, leak or failed test.
#   ASAN_BUILD_DIR  default <repo>/build-asan
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ASAN_BUILD_DIR:-$root/build-asan}
log() { printf '[asan %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
command -v cmake >/dev/null || { echo "asan: cmake not found" >&2; exit 2; }

# One run per build dir at a time (a second test run waits here instead of
# rebuilding under the first one's feet).
mkdir -p "$build"
exec 9>"$build/.lock"
if ! flock -n 9; then
  log "waiting for another run using $build"
  flock 9
fi

t0=$(date +%s)
log "configure + build ($build, ${CXX:-c++})"
if ! cmake -S "$root" -B "$build" -DETL_SANITIZE=ON -DETL_ADDON=OFF -DETL_FUZZ_REPLAY=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1; then
  cat "$build/configure.log"; exit 2
fi
if ! cmake --build "$build" -j "${ASAN_BUILD_JOBS:-1}" >"$build/build.log" 2>&1; then
  tail -50 "$build/build.log"; exit 2
fi
log "built in $(( $(date +%s) - t0 )) s"

# hard_rss_limit_mb: a run that balloons (as the reader did on buffers claiming
# 256 MiB each) fails here too, not only under libFuzzer's -rss_limit_mb.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:hard_rss_limit_mb=3072}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$(mktemp -d "${TMPDIR:-/tmp}/etl-imds-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
runs=0
failures=()

# run NAME OKCODES CMD...: runs CMD, fails on a sanitizer report, a signal, or
# an exit code not in OKCODES (space-separated).
run() {
  local name=$1 ok=$2; shift 2
  local out="$work/run.log"
  "$@" >"$out" 2>&1
  local rc=$?
  runs=$((runs + 1))
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' "$out" ||
     [ $rc -ge 128 ] || ! [[ " $ok " == *" $rc "* ]]; then
    status=1
    failures+=("$name")
    log "FAIL $name (exit $rc)"
    grep -m1 -A40 -E 'ERROR: |runtime error:|FAIL' "$out" | head -60
    [ -s "$out" ] && ! grep -qE 'ERROR: |runtime error:|FAIL' "$out" && tail -20 "$out"
    return 1
  fi
  return 0
}

run schema_test 0 "$build/schema_test" && log "schema_test: $(tail -1 "$work/run.log")"
run capture_test 0 "$build/capture_test" && log "capture_test: $(tail -1 "$work/run.log")"

# Traces: shipped, shared (read in place, never copied into the repo), generated.
if [ ! -f "$root/dist-tools/tools/gen/index.js" ]; then (cd "$root" && npx tsc -p tsconfig.tools.json); fi
node "$root/test/fuzz/gen-traces.mjs" "$work/traces" >/dev/null || { log "gen-traces failed"; status=1; }
files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$root/fixtures" -name '*.etl' -print0 | sort -z)
if [ -d "$root/../shared/fixtures" ]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$root/../shared/fixtures" -name '*.etl' -print0 | sort -z)
else
  log "../shared/fixtures absent: shipped fixtures and generated traces only"
fi
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$work/traces" -name '*.etl' -print0 | sort -z)
n=0
for f in "${files[@]}"; do
  # etl_dump exits 2 for a file it refuses with a clear error; that is fine here.
  run "etl_dump $f" "0 2" "$build/etl_dump" "$f" --summary || continue
  run "capture_test --convert $f" "0 1" "$build/capture_test" --convert "$f" "$work/out.pcapng" || continue
  rm -f "$work/out.pcapng"
  n=$((n + 1))
done
log "${#files[@]} traces through etl_dump and convert, $n clean"

# Fuzz regression inputs, replayed by the same entry points built without libFuzzer.
for d in "$root"/test/fuzz/regressions/*/; do
  [ -d "$d" ] || continue
  t=$(basename "$d")
  [ -n "$(ls -A "$d")" ] || continue
  if [ -x "$build/fuzz_${t}_replay" ]; then
    FUZZ_TMPDIR="$work" run "fuzz_${t}_replay" 0 "$build/fuzz_${t}_replay" "$d" && log "regressions $t: $(tail -1 "$work/run.log")"
  else
    log "FAIL no replay program for regressions/$t"; status=1; failures+=("replay $t")
  fi
done

log "$runs runs in $(( $(date +%s) - t0 )) s"
if [ $status -ne 0 ]; then echo "asan: FAILED: ${failures[*]}"; else echo "asan: clean"; fi
exit $status
