#!/usr/bin/env bash
# Interop check with a second client library: starts mucpush on free loopback ports with a
# temporary data dir, runs test/interop/slixmpp_check.py (slixmpp, Debian's python3-slixmpp)
# against it, stops the server. Exits non-zero if any step fails.
#
#   bash test/interop/run.sh            # quiet
#   INTEROP_DEBUG=1 bash test/interop/run.sh   # server at log level debug + slixmpp's stanza log
#
# Needs /usr/bin/python3 with slixmpp: apt-get install -y python3-slixmpp
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${INTEROP_PYTHON:-/usr/bin/python3}"

if ! "$PYTHON" -c 'import slixmpp' 2>/dev/null; then
  echo "interop: $PYTHON cannot import slixmpp (apt-get install -y python3-slixmpp)" >&2
  exit 1
fi

WORK="$(mktemp -d -t mucpush-interop.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${INTEROP_KEEP:-}" == "1" ]]; then echo "interop: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

LEVEL=info
PYARGS=()
if [[ "${INTEROP_DEBUG:-}" == "1" ]]; then LEVEL=debug; PYARGS+=(--debug); fi

# Our own config file, so a $MUCPUSH_CONFIG in the environment cannot change the setup. Rooms
# stay locked on creation (the default): the check unlocks its room with the instant-room form.
cat >"$WORK/config.json" <<EOF
{ "domain": "localhost", "c2s": { "host": "127.0.0.1" }, "http": { "host": "127.0.0.1" }, "log": { "level": "$LEVEL" } }
EOF

node "$ROOT/bin/mucpush.js" start --config "$WORK/config.json" --data-dir "$WORK/data" \
  --c2s-port 0 --http-port 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

PORT=""
for _ in $(seq 1 150); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "interop: the server exited before listening:" >&2
    cat "$WORK/server.log" >&2
    exit 1
  fi
  PORT="$(grep -m1 '"msg":"listening"' "$WORK/server.log" | sed -n 's/.*"c2s":\([0-9][0-9]*\).*/\1/p' || true)"
  [[ -n "$PORT" ]] && break
  sleep 0.1
done
if [[ -z "$PORT" ]]; then
  echo "interop: no listening line after 15 s:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi
echo "interop: mucpush listening on 127.0.0.1:$PORT (data in $WORK)"

STATUS=0
"$PYTHON" "$ROOT/test/interop/slixmpp_check.py" --host 127.0.0.1 --port "$PORT" --domain localhost "${PYARGS[@]}" || STATUS=$?

# Stop the server the way an operator would; it must exit 0 on SIGTERM.
kill -TERM "$SERVER_PID" 2>/dev/null || true
SERVER_STATUS=0
wait "$SERVER_PID" || SERVER_STATUS=$?
SERVER_PID=""
if [[ $SERVER_STATUS -ne 0 ]]; then
  echo "interop: the server exited with status $SERVER_STATUS on SIGTERM" >&2
  [[ $STATUS -ne 0 ]] || STATUS=1
else
  echo "interop: server stopped cleanly"
fi

if [[ $STATUS -ne 0 || "${INTEROP_DEBUG:-}" == "1" ]]; then
  echo "interop: server log:" >&2
  cat "$WORK/server.log" >&2
fi
exit "$STATUS"
