#!/usr/bin/env bash
# Compile time of HANDLERS (1,000) handlers in one file, declared with jwt-router's attributes
# against the same handlers mounted with plain axum: a debug rebuild after touching the file,
# and after editing one handler's body, ROUNDS (5) times each, alternating the two variants.
# Prints the medians and the median of the round-by-round ratios.
#   compare/compile-time.sh            HANDLERS=200 ROUNDS=3 compare/compile-time.sh
set -euo pipefail
handlers=${HANDLERS:-1000}
rounds=${ROUNDS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/annotated/src" "$work/plain/src"
cat > "$work/Cargo.toml" <<EOF
[workspace]
members = ["annotated", "plain"]
resolver = "3"
EOF
for variant in annotated plain; do
    extra=""
    [ "$variant" = annotated ] && extra="jwt-router = { path = \"$root\" }"
    cat > "$work/$variant/Cargo.toml" <<EOF
[package]
name = "$variant"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
$extra
EOF
done

{
    echo "use jwt_router::authed;"
    for i in $(seq 0 $((handlers - 1))); do
        echo "#[authed(GET, \"/h$i\")]"
        echo "pub async fn h$i() -> &'static str { \"h$i\" }"
    done
} > "$work/annotated/src/handlers.rs"
cat > "$work/annotated/src/main.rs" <<'EOF'
mod handlers;
fn main() {
    let jwt = jwt_router::JwtRoutes::<()>::builder()
        .secret("a compile-time secret of at least thirty-two bytes")
        .build()
        .expect("valid configuration");
    let _ = std::hint::black_box(jwt.router(()));
}
EOF
{
    echo "use axum::{Router, routing::get};"
    for i in $(seq 0 $((handlers - 1))); do
        echo "pub async fn h$i() -> &'static str { \"h$i\" }"
    done
    echo "pub fn router() -> Router {"
    echo "    Router::new()"
    for i in $(seq 0 $((handlers - 1))); do
        echo "        .route(\"/h$i\", get(h$i))"
    done
    echo "}"
} > "$work/plain/src/handlers.rs"
cat > "$work/plain/src/main.rs" <<'EOF'
mod handlers;
fn main() {
    let _ = std::hint::black_box(handlers::router());
}
EOF

export CARGO_TARGET_DIR="$work/target"
build() { cargo build --quiet --offline --manifest-path "$work/Cargo.toml" -p "$1"; }
echo "building both variants once (dependencies included)..." >&2
build annotated
build plain

timed() {
    local start end
    start=$(date +%s%N)
    build "$1"
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

middle=$((handlers / 2))
: > "$work/times"
for round in $(seq 1 "$rounds"); do
    for variant in annotated plain; do
        file="$work/$variant/src/handlers.rs"
        touch "$file"
        echo "touch $variant $(timed "$variant")" >> "$work/times"
        sed -i "s/\"h$middle[^\"]*\"/\"h$middle round $round\"/" "$file"
        echo "edit $variant $(timed "$variant")" >> "$work/times"
    done
    echo "round $round of $rounds done" >&2
done

python3 - "$work/times" "$handlers" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"\n## Compile time, {sys.argv[2]} handlers in one file (debug, median of rounds)\n")
print("| rebuild after | jwt-router | plain axum | × plain axum |")
print("|---|---:|---:|---:|")
for kind in ("touch", "edit"):
    a = [int(t) / 1000 for k, v, t in rows if k == kind and v == "annotated"]
    p = [int(t) / 1000 for k, v, t in rows if k == kind and v == "plain"]
    ratio = statistics.median(x / y for x, y in zip(a, p))
    label = "touching the file" if kind == "touch" else "editing one handler"
    print(f"| {label} | {statistics.median(a):.2f} s | {statistics.median(p):.2f} s | {ratio:.2f} |")
EOF
