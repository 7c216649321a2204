#!/usr/bin/env bash
# The vitest suite against an ASan + UBSan build of the addon (gcc, through
# CMakeLists.txt as cmake-js would drive it), in a scratch copy of the
# repository so the normal build/Release is never touched:
#   test/native/asan-addon.sh [vitest args...]   (default: the whole suite
#   except test/native/hardening.test.ts, which runs this script's siblings)
# Node itself is not instrumented, so libasan is preloaded; leak detection is
# off (Node's own allocations at exit are not ours); other programs the tests
# run (tshark, curl, ...) are not preloaded. Any ASan/UBSan report in
# the output fails the run, as does a failing test.
#   ASAN_BUILD_DIR  default <repo>/build-asan (shares objects with asan.sh)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ASAN_BUILD_DIR:-$root/build-asan}
log() { printf '[asan-addon %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
for tool in cmake gcc node git; do command -v $tool >/dev/null || { echo "asan-addon: $tool not found" >&2; exit 2; }; done
libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "asan-addon: libasan.so not found (gcc's ASan runtime)" >&2; exit 2; }
nodeinc=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
[ -f "$nodeinc/node_api.h" ] || { echo "asan-addon: Node headers not found at $nodeinc" >&2; exit 2; }

mkdir -p "$build"
exec 9>"$build/.lock"
if ! flock -n 9; then log "waiting for another run using $build"; flock 9; fi

t0=$(date +%s)
log "configure + build the addon ($build)"
if ! CC=gcc CXX=g++ cmake -S "$root" -B "$build" -DETL_SANITIZE=ON -DETL_ADDON=ON -DETL_FUZZ_REPLAY=ON \
      -DCMAKE_JS_VERSION=asan -DCMAKE_JS_INC="$nodeinc" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1; then
  cat "$build/configure.log"; exit 2
fi
if ! cmake --build "$build" -j "${ASAN_BUILD_JOBS:-1}" --target etl_imds >"$build/build-addon.log" 2>&1; then
  tail -50 "$build/build-addon.log"; exit 2
fi
log "built in $(( $(date +%s) - t0 )) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/etl-imds-asan-addon.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Tracked and new (not ignored) files; node_modules linked; TypeScript built there.
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | (cd "$work" && tar -xf -)
ln -s "$root/node_modules" "$work/node_modules"
mkdir -p "$work/build/Release"
cp "$build/etl_imds.node" "$work/build/Release/etl_imds.node"
# Make sure what the tests load is the instrumented addon.
nm -D "$work/build/Release/etl_imds.node" | grep __asan_report >/dev/null || { log "the addon is not ASan-instrumented"; exit 2; }
exec 9>&-  # the build dir is free again; the suite runs on the copy
(cd "$work" && npx tsc -p tsconfig.json) || { log "tsc failed"; exit 2; }

# Only Node gets libasan: other programs the tests run get wrappers that drop
# LD_PRELOAD (curl hangs at start-up with libasan preloaded).
mkdir -p "$work/bin"
for t in curl tshark capinfos editcap gcab cabextract python3 git mount umount; do
  real=$(command -v "$t") || continue
  printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$@"\n' "$real" >"$work/bin/$t"
  chmod +x "$work/bin/$t"
done

args=("$@")
# The Wine runs and the executables use their own builds of the addon (mingw-w64, and the one
# the executable carries), not this ASan one: they stay out too.
[ ${#args[@]} -gt 0 ] || args=(--exclude test/native/hardening.test.ts --exclude 'test/windows/**' --exclude 'test/exe/**')
log "vitest ${args[*]} with $libasan preloaded"
out="$work/vitest.log"
# The packaging check builds and packs a release copy: it says nothing about memory safety and
# needs the git checkout, so it stays out of this run (ETL_IMDS_FRESH_INSTALL cleared).
(cd "$work" && PATH="$work/bin:$PATH" ETL_IMDS_FRESH_INSTALL= NO_COLOR=1 FORCE_COLOR=0 ETL_IMDS_SHARED_FIXTURES=${ETL_IMDS_SHARED_FIXTURES:-$root/../shared/fixtures} \
  LD_PRELOAD="$libasan" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  npx vitest run "${args[@]}") >"$out" 2>&1
rc=$?
grep -qE "^ *Tests " "$out" || { log "no vitest summary:"; tail -30 "$out"; [ $rc -ne 0 ] || rc=1; }
grep -E '^ *(Test Files|Tests) ' "$out" | sed 's/^ */  /'
status=0
if grep -qE 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$out"; then
  log "sanitizer report:"; grep -m1 -B2 -A40 -E 'ERROR: AddressSanitizer|runtime error:' "$out"; status=1
fi
if [ $rc -ne 0 ]; then
  log "vitest exit $rc"; grep -E 'FAIL|✗|×' "$out" | head -30; status=1
fi
log "total $(( $(date +%s) - t0 )) s"
if [ $status -ne 0 ]; then echo "asan-addon: FAILED"; else echo "asan-addon: clean"; fi
exit $status
