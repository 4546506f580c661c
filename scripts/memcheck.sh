#!/usr/bin/env bash
# Runs the tests that exercise the workspace's unsafe code (kmidi-dsp's ring
# buffer and counting allocator, kmidi-perf's switching allocator) under valgrind
# memcheck. Miri is not available on these machines; memcheck sees
# uninitialised reads, out-of-bounds accesses and leaks in the real binary.
# The workspace builds for the baseline x86-64 target (no AVX-512), which
# valgrind 3.19 can run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v valgrind >/dev/null; then
  echo "memcheck.sh: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi
bins=$( { cargo test -p kmidi-dsp --test ring_buffer --test zero_alloc --no-run --message-format=json 2>/dev/null;
          cargo test -p kmidi-perf --test lab_allocator --no-run --message-format=json 2>/dev/null; } \
  | python3 -c 'import sys, json
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
[ -n "$bins" ] || { echo "memcheck.sh: no test binaries were built" >&2; exit 1; }
for bin in $bins; do
  echo "== valgrind memcheck: $(basename "$bin")"
  valgrind --quiet --error-exitcode=1 --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite \
    "$bin" --test-threads=2 -q
done
echo "memcheck: no errors"
