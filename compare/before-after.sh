#!/usr/bin/env bash
# The in-process and loopback tables for jwt-router at two commits (AFTER: HEAD), the two
# binaries run alternately ROUNDS times in one session so both columns share the machine's
# moments. Each commit is checked out apart (a git worktree) and gets this tree's compare/, built
# against its own library; peers and the sweep are left out (`--no-default-features`).
#   compare/before-after.sh 694c070 [AFTER [ROUNDS]]
set -euo pipefail
before=${1:?usage: compare/before-after.sh <before commit> [after commit [rounds]]}
after=${2:-HEAD}
rounds=${3:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
    for side in before after; do
        git -C "$root" worktree remove --force "$work/$side" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Builds are kept under compare/target, so a second run rebuilds only what changed.
for side in before after; do
    rev=$before
    [ "$side" = after ] && rev=$after
    git -C "$root" worktree add --quiet --detach "$work/$side" "$rev"
    rm -rf "$work/$side/compare"
    tar -C "$root" --exclude=compare/target -cf - compare | tar -C "$work/$side" -xf -
    echo "building $side ($rev)..." >&2
    cargo build --quiet --release --no-default-features \
        --manifest-path "$work/$side/compare/Cargo.toml" \
        --target-dir "$root/compare/target/before-after-$side"
    cp "$root/compare/target/before-after-$side/release/jwt-router-compare" "$work/bin-$side"
done
for round in $(seq 1 "$rounds"); do
    for side in before after; do
        "$work/bin-$side" inproc loopback --rounds 1 --seconds 1 --tsv | sed "s/^/$side\t$round\t/" >> "$work/tsv"
    done
    echo "round $round of $rounds done" >&2
done

python3 - "$work/tsv" "$before" "$after" <<'EOF'
import collections, statistics, sys
figures = collections.defaultdict(dict)  # (side, table, case) -> {round: value}
for line in open(sys.argv[1]):
    side, rnd, table, case, value = line.rstrip("\n").split("\t")
    figures[(side, table, case)][rnd] = float(value)
base = "no auth (plain axum)"
def column(side, table, case):
    own, ref = figures[(side, table, case)], figures.get((side, table.replace(" allocations", ""), base), {})
    ratios = [own[r] / ref[r] for r in own if r in ref]
    return statistics.median(own.values()), statistics.median(ratios) if ratios else float("nan")
for table, unit in (("in-process", "ns/request"), ("loopback", "requests/s")):
    print(f"\n## {table}: {sys.argv[2]} (before) and {sys.argv[3]} (after), alternating\n")
    print(f"| case | before {unit} | × no auth | after {unit} | × no auth | allocations before → after |")
    print("|---|---:|---:|---:|---:|---:|")
    cases = [c for (s, t, c) in figures if s == "after" and t == table]
    for case in cases:
        b, rb = column("before", table, case) if ("before", table, case) in figures else (float("nan"),) * 2
        a, ra = column("after", table, case)
        allocs = ""
        if ("after", table + " allocations", case) in figures:
            ab = figures.get(("before", table + " allocations", case), {})
            aa = figures[("after", table + " allocations", case)]
            allocs = f"{statistics.median(ab.values()):.1f} → {statistics.median(aa.values()):.1f}" if ab else ""
        print(f"| {case} | {b:.0f} | {rb:.2f} | {a:.0f} | {ra:.2f} | {allocs} |")
EOF
