#!/usr/bin/env bash
# Compile every examples/*.c to an eBPF object beside it:
#   clang -O2 -g -target bpf -I include -c examples/X.c -o examples/X.o
# The .o files are committed, so the project works where clang is missing;
# run this (CI does) whenever an example or include/ changes.
#
# Usage: examples/build.sh [FILE.c ...]     (default: every examples/*.c)
# Environment: CLANG=/path/to/clang   EXTRA_CFLAGS="..."
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

find_clang() {
  local candidate
  for candidate in "${CLANG:-}" clang clang-20 clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
    if [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! cc="$(find_clang)"; then
  echo "examples/build.sh: clang not found (set CLANG=/path/to/clang, or install clang >= 14)." >&2
  echo "The committed examples/*.o files can be used as they are." >&2
  exit 127
fi
if ! "$cc" -print-targets 2>/dev/null | grep -qw bpf; then
  echo "examples/build.sh: $cc has no BPF target (clang -print-targets does not list bpf)." >&2
  exit 1
fi

flags=(-O2 -g -target bpf -Wall -Werror -I include "-fdebug-prefix-map=$root=.")

# <linux/bpf.h> includes <asm/types.h>, which Debian/Ubuntu keep in the
# multiarch directory that `-target bpf` does not search. Add it after the
# standard directories when it exists (only the Linux-flavoured examples need it).
for dir in "/usr/include/$(uname -m)-linux-gnu" /usr/include/*-linux-gnu*; do
  if [[ -d "$dir/asm" ]]; then
    flags+=(-idirafter "$dir")
    break
  fi
done

# shellcheck disable=SC2206 # EXTRA_CFLAGS is meant to be split into words
flags+=(${EXTRA_CFLAGS:-})

if [[ $# -gt 0 ]]; then
  sources=("$@")
else
  sources=(examples/*.c examples/extension/*.c)
fi

failed=0
for src in "${sources[@]}"; do
  obj="${src%.c}.o"
  if "$cc" "${flags[@]}" -c "$src" -o "$obj"; then
    echo "built $obj"
  else
    echo "examples/build.sh: FAILED to compile $src" >&2
    failed=1
  fi
done
exit "$failed"
