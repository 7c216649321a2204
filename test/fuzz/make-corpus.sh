#!/usr/bin/env bash
# Seed corpora for the fuzzers, built at run time into OUTDIR (never
# committed: some shared fixtures have no license):
#   test/fuzz/make-corpus.sh OUTDIR [BUILD_DIR]
# OUTDIR/<target>/ for reader, decompress, schema, extractor, pcapng, from
#  - the shipped fixtures (fixtures/**.etl, MIT/Apache-2.0),
#  - ../shared/fixtures/**.etl when present (read in place, seeds cut to temp),
#  - small traces written by the project's generator (tools/gen; built by tsc
#    if missing), which are also left in OUTDIR/traces for the sanitizer run.
# BUILD_DIR holds make_seeds (default build-fuzz).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: make-corpus.sh OUTDIR [BUILD_DIR]}
build=${2:-$root/build-fuzz}
reader_max=${READER_MAX_LEN:-131072}
mkdir -p "$out"/{reader,decompress,schema,extractor,pcapng,traces}

# Generated traces.
if [ ! -f "$root/dist-tools/tools/gen/index.js" ]; then
  (cd "$root" && npx tsc -p tsconfig.tools.json)
fi
node "$root/test/fuzz/gen-traces.mjs" "$out/traces" >/dev/null

files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$root/fixtures" -name '*.etl' -print0 | sort -z)
shared="$root/../shared/fixtures"
if [ -d "$shared" ]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$shared" -name '*.etl' -print0 | sort -z)
else
  echo "make-corpus: $shared absent; seeds from shipped fixtures and generated traces only" >&2
fi
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$out/traces" -name '*.etl' -print0 | sort -z)

n=0
for f in "${files[@]}"; do
  n=$((n + 1))
  tag="$n-$(basename "$f" .etl)"
  # Whole file for the reader fuzzer, cut to its -max_len (a cut file is a
  # truncated trace, itself a case the reader must handle).
  head -c "$reader_max" "$f" > "$out/reader/$tag.etl"
  (cd "$out" && "$build/make_seeds" "$f" "$out" >/dev/null) || echo "make-corpus: make_seeds failed on $f" >&2
  # make_seeds names seeds after the file stem; keep sources apart.
  for d in decompress schema extractor pcapng; do
    for s in "$out/$d/$(basename "$f" .etl)"-*; do
      [ -e "$s" ] && mv "$s" "$out/$d/$tag-${s##*-}"
    done
  done
done

# Hand-made LZNT1 seeds (no real .etl has used LZNT1): one compressed chunk
# "abc" + a 9-byte match (12 bytes out), and one stored chunk of 4 bytes.
printf '\x01\x0c\x00\x00\x00\x05\xb0\x08abc\x06\x20' > "$out/decompress/lznt1-compressed"
printf '\x01\x04\x00\x00\x00\x03\x30wxyz' > "$out/decompress/lznt1-stored"

for d in reader decompress schema extractor pcapng; do
  printf 'make-corpus: %-10s %4d seeds\n' "$d" "$(find "$out/$d" -type f | wc -l)"
done
