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
# The workspace's own test build (what `cargo test --workspace` compiles,
# so nothing new in CI): building with `-p` would resolve the dependencies'
# features for one package and compile them all again.
bins=$(cargo test --workspace --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import sys, json
wanted = {("kmidi-dsp", "ring_buffer"), ("kmidi-dsp", "zero_alloc"), ("kmidi-perf", "lab_allocator")}
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or m["target"]["kind"] != ["test"]:
        continue
    package = m["package_id"].rsplit("#", 1)[-1].split("@")[0]
    if (package, m["target"]["name"]) in wanted:
        print(m["executable"])')
[ "$(wc -w <<<"$bins")" -eq 3 ] || {
  echo "memcheck.sh: expected 3 test binaries (kmidi-dsp ring_buffer, zero_alloc; kmidi-perf lab_allocator), found: ${bins:-none}" >&2
  exit 1
}
for bin in $bins; do
  echo "== valgrind memcheck: $(basename "$bin")"
  valgrind --quiet --error-exitcode=1 --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite \
    "$bin" --test-threads=2 -q
done
echo "memcheck: no errors"
