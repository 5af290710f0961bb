#!/bin/sh
# Starts Prosody (apt-get install prosody) in the foreground with bench/prosody/prosody.cfg.lua,
# loopback only. Usage: bench/prosody/start.sh [DIR] [C2S_PORT] [HTTP_PORT]
# Then, in another shell:
#   npm run bench -- fanout --host 127.0.0.1 --port 5322 --domain localhost \
#     --pid "$(cat /tmp/prosody-bench/prosody.pid)" --server-name "prosody 0.12.3"
set -e
here=$(cd "$(dirname "$0")" && pwd)
export PROSODY_BENCH_DIR="${1:-/tmp/prosody-bench}"
export PROSODY_BENCH_C2S="${2:-5322}"
export PROSODY_BENCH_HTTP="${3:-5380}"
mkdir -p "$PROSODY_BENCH_DIR/data"
# Prosody refuses to run as root unless told otherwise; run it as the prosody user when we are root.
if [ "$(id -u)" = 0 ] && id prosody >/dev/null 2>&1; then
  chown -R prosody "$PROSODY_BENCH_DIR"
  cp "$here/prosody.cfg.lua" "$PROSODY_BENCH_DIR/prosody.cfg.lua"
  chown prosody "$PROSODY_BENCH_DIR/prosody.cfg.lua"
  # su resets the soft descriptor limit (1024 here): raise it again inside.
  exec su -s /bin/sh prosody -c "ulimit -n \"\$(ulimit -Hn)\"; PROSODY_BENCH_DIR='$PROSODY_BENCH_DIR' PROSODY_BENCH_C2S='$PROSODY_BENCH_C2S' PROSODY_BENCH_HTTP='$PROSODY_BENCH_HTTP' exec prosody -F --config '$PROSODY_BENCH_DIR/prosody.cfg.lua'"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec prosody -F --config "$here/prosody.cfg.lua"
