#!/usr/bin/env bash
# Imports driftless's Kibana dashboard (data views, visualizations, a saved search and the
# dashboard "driftless") with the saved objects import API:
#   POST <KIBANA_URL>[/s/<KIBANA_SPACE>]/api/saved_objects/_import?overwrite=true
# Objects have fixed ids, so running it again updates them in place.
#
# Usage: scripts/kibana-import.sh [file.ndjson]     (default: infra/kibana/driftless-dashboard.ndjson)
#
# Environment:
#   KIBANA_URL              Kibana's base URL (default http://localhost:5601)
#   KIBANA_API_KEY          an encoded API key, sent as "Authorization: ApiKey <key>", or
#   KIBANA_USERNAME + KIBANA_PASSWORD   basic authentication (not both kinds; neither: no auth)
#   KIBANA_SPACE            a space id to import into (default: the default space)
#   SYNC_EVENTS_STREAM      the events data stream, if not driftless-sync-events (the events data view's title)
#   DRIFTLESS_LOGS_PATTERN  the index pattern holding driftless's logs, if not logs-* (the logs data view's title)
#
# Needs bash, curl and coreutils (sed, grep, base64, mktemp); jq, when installed, only formats errors.
# Credentials go to curl on stdin (--config -), never on its command line, and are never printed.
# Exit status: 0 imported, 1 Kibana refused or could not be reached, 2 bad arguments or settings.
set -euo pipefail

readonly DEFAULT_STREAM="driftless-sync-events"
readonly DEFAULT_LOGS_PATTERN="logs-*"
readonly EVENTS_VIEW_ID="driftless-events"
readonly LOGS_VIEW_ID="driftless-logs"
readonly DASHBOARD_ID="driftless-dashboard"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

fail() {
  echo "kibana-import: $1" >&2
  exit "${2:-1}"
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  -*) fail "unknown option $1 (see --help)" 2 ;;
esac
[[ $# -le 1 ]] || fail "expected at most one argument, the .ndjson file (see --help)" 2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="${1:-$root/infra/kibana/driftless-dashboard.ndjson}"
[[ -f "$file" && -r "$file" ]] || fail "cannot read $file" 2

kibana_url="${KIBANA_URL:-http://localhost:5601}"
kibana_url="${kibana_url%/}"
[[ "$kibana_url" =~ ^https?://[^/]+ ]] || fail "KIBANA_URL must be an http(s) URL" 2
# For messages only: a URL may carry user info (https://user:pass@host).
display_url="$(printf '%s' "$kibana_url" | sed -E 's#^(https?://)[^/@]*@#\1#')"

space="${KIBANA_SPACE:-}"
if [[ -n "$space" && "$space" != "default" ]]; then
  [[ "$space" =~ ^[a-z0-9_-]+$ ]] || fail "KIBANA_SPACE must be a space id (a-z, 0-9, _ and -)" 2
  endpoint="$kibana_url/s/$space/api/saved_objects/_import?overwrite=true"
else
  space=""
  endpoint="$kibana_url/api/saved_objects/_import?overwrite=true"
fi

# The same rule as SYNC_EVENTS_STREAM in shared/config/settings.ts.
stream="${SYNC_EVENTS_STREAM:-$DEFAULT_STREAM}"
[[ "$stream" =~ ^[a-z0-9][a-z0-9._-]{0,199}$ ]] || fail "SYNC_EVENTS_STREAM must be a lowercase data stream name (a-z, 0-9, . _ -)" 2
logs_pattern="${DRIFTLESS_LOGS_PATTERN:-$DEFAULT_LOGS_PATTERN}"
[[ "$logs_pattern" =~ ^[a-z0-9*][a-z0-9*._,:-]{0,254}$ ]] || fail "DRIFTLESS_LOGS_PATTERN must be an index pattern (a-z, 0-9, * . _ , : -)" 2

auth_header=""
if [[ -n "${KIBANA_API_KEY:-}" ]]; then
  [[ -z "${KIBANA_USERNAME:-}${KIBANA_PASSWORD:-}" ]] || fail "set KIBANA_API_KEY or KIBANA_USERNAME/KIBANA_PASSWORD, not both" 2
  [[ "$KIBANA_API_KEY" =~ ^[A-Za-z0-9+/=:_.-]+$ ]] || fail "KIBANA_API_KEY must be an encoded API key (base64)" 2
  auth_header="Authorization: ApiKey $KIBANA_API_KEY"
elif [[ -n "${KIBANA_USERNAME:-}" || -n "${KIBANA_PASSWORD:-}" ]]; then
  [[ -n "${KIBANA_USERNAME:-}" && -n "${KIBANA_PASSWORD:-}" ]] || fail "KIBANA_USERNAME and KIBANA_PASSWORD go together" 2
  auth_header="Authorization: Basic $(printf '%s:%s' "$KIBANA_USERNAME" "$KIBANA_PASSWORD" | base64 | tr -d '\n')"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/driftless-kibana.XXXXXX")"
trap 'rm -rf "$work"' EXIT
upload="$work/driftless-dashboard.ndjson"
body="$work/response.json"

# Rewrite a data view's title. The title is matched as a whole JSON string, must occur on exactly
# one line, and that line must be the data view's own (type index-pattern, the expected id).
retitle() {
  local id="$1" from="$2" to="$3" input="$4" output="$5"
  if [[ "$from" == "$to" ]]; then
    cp "$input" "$output"
    return
  fi
  local needle="\"title\":\"$from\"" lines
  lines="$(grep -F -- "$needle" "$input" || true)"
  if [[ -z "$lines" || "$lines" == *$'\n'* || "$lines" != *"\"id\":\"$id\""* || "$lines" != *"\"type\":\"index-pattern\""* ]]; then
    fail "$input has no single data view $id titled $from to rename" 2
  fi
  local pattern
  pattern="$(printf '%s' "$needle" | sed 's/[][\\.*^$/]/\\&/g')"
  sed "s/$pattern/\"title\":\"$to\"/" "$input" >"$output"
}
retitle "$EVENTS_VIEW_ID" "$DEFAULT_STREAM" "$stream" "$file" "$work/step1"
retitle "$LOGS_VIEW_ID" "$DEFAULT_LOGS_PATTERN" "$logs_pattern" "$work/step1" "$upload"

curl_config=""
[[ -z "$auth_header" ]] || curl_config="header = \"$auth_header\""

set +e
status="$(printf '%s\n' "$curl_config" | curl --config - --silent --show-error \
  --connect-timeout 10 --max-time 120 \
  -X POST "$endpoint" \
  -H "kbn-xsrf: true" \
  --form "file=@$upload;type=application/ndjson;filename=driftless-dashboard.ndjson" \
  --output "$body" --write-out '%{http_code}')"
curl_exit=$?
set -e
[[ $curl_exit -eq 0 ]] || fail "could not reach Kibana at $display_url (curl exit $curl_exit)"

if [[ "$status" != 2* ]]; then
  echo "kibana-import: Kibana at $display_url answered HTTP $status:" >&2
  cat "$body" >&2
  echo >&2
  exit 1
fi

if grep -qE '"success"[[:space:]]*:[[:space:]]*true' "$body"; then
  count="$(grep -oE '"successCount"[[:space:]]*:[[:space:]]*[0-9]+' "$body" | grep -oE '[0-9]+$' || echo "?")"
  echo "Imported $count saved objects into Kibana at $display_url${space:+ (space $space)}."
  echo "Events data view: $stream; logs data view: $logs_pattern (filtered by service.name : \"driftless\")."
  echo "Dashboard: $display_url${space:+/s/$space}/app/dashboards#/view/$DASHBOARD_ID"
  exit 0
fi

echo "kibana-import: Kibana at $display_url did not import everything:" >&2
if command -v jq >/dev/null 2>&1 && jq -e . "$body" >/dev/null 2>&1; then
  jq -r '"  imported \(.successCount // 0) objects",
    ((.errors // [])[] | "  \(.type)/\(.id) (\(.meta.title // .title // "untitled")): \(.error.type)\(if .error.references then " " + ([.error.references[] | "\(.type)/\(.id)"] | join(", ")) else "" end)\(if .error.message then ": " + .error.message else "" end)")' \
    "$body" >&2
else
  cat "$body" >&2
  echo >&2
fi
exit 1
