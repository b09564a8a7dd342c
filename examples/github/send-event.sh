#!/usr/bin/env bash
# Sends one GitHub event to metrics.record_github_event through PostgREST (Supabase's
# /rest/v1), as examples/github/record-metrics.yml does in a workflow. The HTTP tests run this
# same file (tests/http/10_github.test.mjs), so what the workflow sends is what is tested.
#
#   send-event.sh EVENT_NAME PAYLOAD_FILE
#
# EVENT_NAME is GitHub's event name (github.event_name: push, pull_request, ...);
# pull_request_target is sent as pull_request (same payload). PAYLOAD_FILE is the event's JSON
# (in a workflow: $GITHUB_EVENT_PATH, the file holding exactly toJson(github.event)). The body
# is built by jq from the file ({event, payload, environment}), never on a command line, so a
# payload of any size (GitHub caps webhooks at 25 MB) goes through.
#
# Environment:
#   SUPABASE_URL          the API's URL (https://<ref>.supabase.co, or a self-hosted one);
#   SUPABASE_PROJECT_REF  used as https://<ref>.supabase.co when SUPABASE_URL is empty
#   SUPABASE_SECRET_KEY   the service key (service_role: the manage level); sent as apikey
#                         and as Authorization: Bearer
#   METRICS_ENVIRONMENT   optional: the environment of facts whose payload names none (a
#                         workflow run, an incident issue); empty sends null
#   METRICS_REST_PATH     optional, default /rest/v1 (Supabase's gateway path)
#   METRICS_MAX_TIME      optional, seconds per attempt, default 30
#
# Exit status: 0 on a 2xx answer (printed: recorded, kind, event_key); 1 on any other answer
# (printed with its body) or when the call could not be made; 2 on a usage error. Transient
# failures (a refused connection, a timeout, HTTP 408, 429, 500, 502, 503, 504) are retried
# 3 times within 2 minutes, then it fails; a 4xx is never retried. Retrying is safe: the
# function is idempotent (each event has a key), so a retry of an event that was in fact
# recorded answers recorded=false and changes nothing.
set -euo pipefail

usage() { echo "usage: send-event.sh EVENT_NAME PAYLOAD_FILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
event=$1
payload_file=$2
[ -n "$event" ] || usage
[ "$event" = pull_request_target ] && event=pull_request
if [ ! -r "$payload_file" ]; then
    echo "send-event.sh: cannot read the payload file '$payload_file'" >&2
    exit 2
fi

error() {
    # A GitHub Actions annotation when run there, plain text otherwise.
    if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::error title=record_github_event::$*"; else echo "send-event.sh: $*" >&2; fi
}

base=${SUPABASE_URL:-}
if [ -z "$base" ]; then
    if [ -z "${SUPABASE_PROJECT_REF:-}" ]; then
        error "neither SUPABASE_URL nor SUPABASE_PROJECT_REF is set"
        exit 1
    fi
    base="https://${SUPABASE_PROJECT_REF}.supabase.co"
fi
if [ -z "${SUPABASE_SECRET_KEY:-}" ]; then
    error "SUPABASE_SECRET_KEY is not set (a repository secret; not available to workflows of forks)"
    exit 1
fi
url="${base%/}${METRICS_REST_PATH-/rest/v1}/rpc/record_github_event"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The key goes to curl through a file (-H @file), so it is on no command line (ps).
printf 'apikey: %s\nAuthorization: Bearer %s\n' "$SUPABASE_SECRET_KEY" "$SUPABASE_SECRET_KEY" >"$tmp/headers"

if ! jq -n -c --arg event "$event" --arg environment "${METRICS_ENVIRONMENT:-}" --slurpfile payload "$payload_file" \
        'if ($payload | length) != 1 then error("\($payload | length) JSON values, not one") else . end
         | {event: $event, payload: $payload[0], environment: (if $environment == "" then null else $environment end)}' \
        >"$tmp/body" 2>"$tmp/jq.err"; then
    error "the payload file is not one JSON value: $(head -c 300 "$tmp/jq.err")"
    exit 1
fi

# Content-Profile picks the schema metrics for a POST (it must be among the API's exposed schemas).
status=$(curl --silent --show-error --output "$tmp/response" --write-out '%{http_code}' \
    --max-time "${METRICS_MAX_TIME:-30}" --retry 3 --retry-delay 5 --retry-max-time 120 --retry-connrefused \
    -X POST "$url" \
    -H @"$tmp/headers" \
    -H 'Content-Type: application/json' \
    -H 'Content-Profile: metrics' \
    -H 'Accept: application/json' \
    --data-binary @"$tmp/body") || {
    error "POST $url failed: no answer (curl exit $?)"
    exit 1
}

case $status in
    2??)
        cat "$tmp/response"
        echo
        ;;
    *)
        error "POST $url answered HTTP $status: $(head -c 2000 "$tmp/response")"
        exit 1
        ;;
esac
