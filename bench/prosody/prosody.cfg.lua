-- Prosody 0.12 configuration for comparing it with mucpush under the same load generator.
-- Loopback only, plaintext c2s with SASL PLAIN, in-band registration, an unlocked MUC
-- component, no rate limits, no s2s. Started by bench/prosody/start.sh, which sets
-- PROSODY_BENCH_DIR (data, pid and log go there) and the ports.

local dir = os.getenv("PROSODY_BENCH_DIR") or "/tmp/prosody-bench"
local c2s = tonumber(os.getenv("PROSODY_BENCH_C2S") or "5322")
local http = tonumber(os.getenv("PROSODY_BENCH_HTTP") or "5380")

data_path = dir .. "/data"
pidfile = dir .. "/prosody.pid"
log = { info = dir .. "/prosody.log"; error = "*console" }

interfaces = { "127.0.0.1" }
c2s_ports = { c2s }
c2s_direct_tls_ports = { }
http_ports = { http }
http_interfaces = { "127.0.0.1" }
network_backend = "epoll" -- the default in 0.12; select would stop at 1024 sockets
-- Nagle off (as mucpush does with setNoDelay): with it on, request/response traffic stalls on
-- delayed ACKs (~40 ms) and Prosody looks far slower than it is.
network_settings = { nagle = false; tcp_backlog = 1024 }

admins = { }
modules_enabled = {
  "disco";
  "roster";
  "saslauth";
  "register";
  "ping";
  "time";
  "version";
  -- "limits" is left out on purpose: no per-connection rate limits.
}
modules_disabled = { "s2s"; "s2s_auth_certs"; "offline" }

-- Plaintext on loopback, like mucpush's loopback exemption.
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"

-- In-band registration (mod_register_limits allow-lists 127.0.0.1 and ::1 by default).
allow_registration = true
min_seconds_between_registrations = nil

c2s_timeout = 3600

VirtualHost "localhost"

Component "conference.localhost" "muc"
  muc_room_locking = false          -- rooms are usable at once (mucpush: muc.unlockedByDefault)
  restrict_room_creation = false
  muc_room_default_history_length = 20
  max_history_messages = 100
