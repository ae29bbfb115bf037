#!/usr/bin/env bash
# Start the servers the test suite talks to (PostgreSQL, NATS JetStream, Mosquitto) if they
# are installed but not running. Servers that are not installed are left to the tests,
# which skip locally and fail under CI=true.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 50); do up "$port" && { echo "$name: running on $port"; return 0; }; sleep 0.2; done
  echo "$name: still not reachable on $port" >&2
}

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_for PostgreSQL 5432
fi
if ! up 4222 && [ -x /usr/sbin/nats-server ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  wait_for NATS 4222
fi
if ! up 1883 && command -v mosquitto >/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
  wait_for Mosquitto 1883
fi
for p in 5432:PostgreSQL 4222:NATS 1883:Mosquitto; do
  up "${p%%:*}" && echo "${p#*:}: ok" || echo "${p#*:}: not reachable" >&2
done
exit 0
