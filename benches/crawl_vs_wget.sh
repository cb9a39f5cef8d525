#!/usr/bin/env bash
# Crawl benchmark: mapsweep's crawler (no sealing) against `wget --recursive` on the same
# generated loopback site, in one run, plus rendered-capture pages/min with 1 and 2 tabs.
#
#   benches/crawl_vs_wget.sh [PAGES=2000] [JS_PAGES=20] [PROFILE=debug|release]
#   (SKIP_RENDER=1 skips the rendered-capture part)
#
# Prints pages/s, wall time and peak RSS (from /usr/bin/time -v) for each.
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES="${1:-2000}"; JS="${2:-20}"; PROFILE="${3:-debug}"
flag=(); [ "$PROFILE" = release ] && flag=(--release)
cargo build -q "${flag[@]}" --bin mapsweep --example bench_site
bin="target/$PROFILE/mapsweep"; site="target/$PROFILE/examples/bench_site"
work="$(mktemp -d)"; trap 'kill "$spid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$site" "$PAGES" "$JS" > "$work/site.out" & spid=$!
for _ in $(seq 100); do grep -q listening "$work/site.out" 2>/dev/null && break; sleep 0.2; done
addr="$(awk '/listening/{print $2}' "$work/site.out")"
echo "site: http://$addr/ ($PAGES pages + images, $JS JS pages)"

peak() { awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); printf "%.1f MB", $2/1024}' "$1"; }
wall() { awk '/Elapsed \(wall clock\)/{print $NF}' "$1"; }
secs() { python3 -c "import sys;p=sys.argv[1].split(':');print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))" "$1"; }

/usr/bin/time -v -o "$work/wget.time" wget --recursive --level=inf --no-parent -q \
  -P "$work/wget" "http://$addr/" || true
wpages=$(find "$work/wget" -name '*.html' -o -name 'index.html' | sort -u | wc -l)
ws=$(secs "$(wall "$work/wget.time")")
echo "wget:     $wpages pages in ${ws}s = $(python3 -c "print(round($wpages/$ws,1))") pages/s, peak $(peak "$work/wget.time")"

/usr/bin/time -v -o "$work/ms.time" "$bin" -q crawl --format text --render never \
  --depth 10 --max-pages $((PAGES + 1)) --concurrency 8 --per-host-concurrency 8 \
  --per-host-delay 0 "http://$addr/" > "$work/ms.out"
mpages=$(grep -c '^200 ' "$work/ms.out" || true)
ms=$(secs "$(wall "$work/ms.time")")
echo "mapsweep: $mpages pages in ${ms}s = $(python3 -c "print(round($mpages/$ms,1))") pages/s, peak $(peak "$work/ms.time") (crawl only, no sealing; $PROFILE build)"

[ -n "${SKIP_RENDER:-}" ] && exit 0
for tabs in 1 2; do
  /usr/bin/time -v -o "$work/r$tabs.time" "$bin" -q crawl --format text --render always \
    --tabs "$tabs" --depth 1 --max-pages $((JS + 1)) --concurrency 4 --per-host-concurrency 4 \
    --per-host-delay 0 "http://$addr/js/index.html" > "$work/r$tabs.out"
  rp=$(grep -c '^200 ' "$work/r$tabs.out" || true)
  rs=$(secs "$(wall "$work/r$tabs.time")")
  echo "render ($tabs tab(s)): $rp pages in ${rs}s = $(python3 -c "print(round($rp*60/$rs,1))") pages/min (settle 1500 ms, launch included)"
done
