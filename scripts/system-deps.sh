#!/usr/bin/env bash
# OS packages cartwise's tests and benchmarks use, from Debian's registry.
# promtool (prometheus) checks alert rules; prometheus scrapes the service in an
# integration test; wrk drives the HTTP benchmark. Skipped when already present.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]}; install them with apt-get (needs root)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a prometheus service on install; cartwise runs its own in tests.
# Stop that daemon through its own service script (its pid file), never by process name, so a
# prometheus that a test run started is left alone. Tests pick free ports, so none collides.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/prometheus ]; then /etc/init.d/prometheus stop >/dev/null 2>&1 || true; fi
