#!/usr/bin/env bash
# Installs the Debian packages a target needs when their commands are missing, so that `make dev`
# and `make test` work on a fresh Debian machine (and .ci/run, which runs as root, uses the same list).
#
#   scripts/install-deps.sh dev    Redis, Elasticsearch (JDK, Maven, unzip) and the Cosmos emulator (openssl)
#   scripts/install-deps.sh test   dev, plus Chromium for the status page test
#   scripts/install-deps.sh ci     test, plus make
#
# `dev` skips what a service given in the environment makes unnecessary (REDIS_URL: redis-server;
# ELASTICSEARCH_URL: a JDK, Maven, unzip; COSMOS_ENDPOINT: openssl), as `make dev` then starts
# none of it. The tests start servers of their own, so `test` needs everything.
#
# Installs with apt-get (through sudo unless root; sudo -n without a terminal, so CI never waits
# on a password prompt). When it cannot, it prints one line saying what to install and exits 1.
set -euo pipefail

profile="${1:-}"
case "$profile" in
  dev | test | ci) ;;
  *)
    echo "usage: $0 dev|test|ci" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."

fail() {
  echo "driftless: $*" >&2
  exit 1
}

# Node.js comes from nodejs.org or a version manager, not from apt (Debian's is often too old):
# only checked. The minimum is package.json's engines.node.
check_node() {
  command -v node >/dev/null 2>&1 || fail "Node.js is not installed; install Node.js 22 (or 20.19 or later) from https://nodejs.org and run make $profile again"
  local problem
  problem="$(node -e '
    // engines.node as this package writes it: alternatives of ^x.y.z or >=x.y.z, joined by ||.
    const range = require("./package.json").engines.node;
    const [major, minor, patch] = process.versions.node.split(".").map(Number);
    const atLeast = (v) => major !== v[0] ? major > v[0] : minor !== v[1] ? minor > v[1] : patch >= v[2];
    const ok = range.split("||").some((part) => {
      const [, op, ...v] = /(\^|>=)\s*(\d+)\.(\d+)\.(\d+)/.exec(part) ?? [];
      const version = v.map(Number);
      return op === "^" ? major === version[0] && atLeast(version) : op === ">=" && atLeast(version);
    });
    if (!ok) console.log(`Node.js ${range} is needed, this is ${process.version}`);
  ' 2>/dev/null)" || problem="$(node --version 2>&1 | head -n 1) could not read engines.node from package.json"
  [[ -z "$problem" ]] || fail "$problem; install Node.js 22 from https://nodejs.org and run make $profile again"
}

commands=()
packages=()
# need <command> <Debian package>: the package is installed when the command is not on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 && return
  commands+=("$1")
  packages+=("$2")
}

# Elasticsearch 8 needs Java 17 or later: scripts/stack/java.ts takes ES_JAVA_HOME, JAVA_HOME,
# Debian's JDK 17, then the java on PATH.
need_jdk() {
  local home
  for home in "${ES_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64; do
    [[ -n "$home" && -x "$home/bin/java" ]] && return
  done
  need java default-jdk-headless
}

check_node
# dev.ts as root runs Elasticsearch as nobody through setpriv; every child gets --pdeathsig from it.
need setpriv util-linux
if [[ "$profile" != dev || -z "${REDIS_URL:-}" ]]; then need redis-server redis-server; fi
if [[ "$profile" != dev || -z "${ELASTICSEARCH_URL:-}" ]]; then
  need_jdk
  need mvn maven
  need unzip unzip
fi
if [[ "$profile" != dev || -z "${COSMOS_ENDPOINT:-}" ]]; then need openssl openssl; fi
# The status page is tested in headless Chromium (Debian's package, driven by playwright-core),
# unless CHROMIUM_PATH names another browser.
if [[ "$profile" != dev && -z "${CHROMIUM_PATH:-}" ]]; then need chromium chromium; fi
if [[ "$profile" == ci ]]; then need make make; fi

((${#packages[@]} == 0)) && exit 0

wanted="${packages[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  fail "missing ${commands[*]}: install the packages $wanted (Debian names) and run make $profile again"
fi
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || fail "missing ${commands[*]}: run as root: apt-get install -y $wanted"
  sudo=(sudo)
  [[ -t 0 ]] || sudo+=(-n)
fi

echo "installing: $wanted (sudo apt-get install, for make $profile)"
log="$(mktemp -t driftless-apt-XXXXXX.log)"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"; } >"$log" 2>&1 </dev/null; then
  reason="$(grep -E '^(E|sudo): ' "$log" | tail -n 1 || true)"
  fail "apt-get could not install $wanted${reason:+ ($reason)}; output in $log; install them yourself: sudo apt-get install -y $wanted"
fi
rm -f "$log"

for command in "${commands[@]}"; do
  if [[ "$command" == java ]]; then continue; fi # the JDK may land outside PATH; java.ts finds it
  command -v "$command" >/dev/null 2>&1 || fail "apt-get installed $wanted but $command is still not on PATH ($PATH)"
done
