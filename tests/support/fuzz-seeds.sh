#!/bin/sh
# Seed corpora for the fuzz targets (fuzz/README.md): real objects of this
# system and the test programs, into fuzz/corpus/<target>.
set -eu
cd "$(dirname "$0")/../.."
built=target/testprogs/malformed
[ -e "$built/mal-main" ] || { echo "build the test programs first (cargo test --release --test malformed)" >&2; exit 1; }
for t in elf_header dynamic symtab plan; do mkdir -p fuzz/corpus/$t; done
mkdir -p fuzz/corpus/ldcache fuzz/corpus/search
for f in "$built/mal-main" "$built/libmal.so" "$built/gmal-main" "$built/libgmal.so" \
         /lib/x86_64-linux-gnu/libz.so.1 /bin/true; do
  n=$(basename "$f")
  for t in elf_header dynamic symtab; do cp "$f" "fuzz/corpus/$t/$n"; done
done
# plan: a program and its library, separated by \377FUZ.
{ cat "$built/mal-main"; printf '\377FUZ'; cat "$built/libmal.so"; } > fuzz/corpus/plan/mal
{ cat "$built/gmal-main"; printf '\377FUZ'; cat "$built/libgmal.so"; } > fuzz/corpus/plan/gmal
cp /etc/ld.so.cache fuzz/corpus/ldcache/ld.so.cache
printf '/lib\000$ORIGIN/../lib:/usr/$LIB:${PLATFORM}/x' > fuzz/corpus/search/one
