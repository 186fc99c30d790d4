#!/bin/sh
# One-shot job of docker-compose.yml, run in the temporalio/admin-tools image once the server answers: creates the
# namespace and the search attributes our workflows set (src/workflows/search-attributes.ts). Idempotent. The
# `temporal` CLI reads TEMPORAL_ADDRESS (and TEMPORAL_TLS_*, TEMPORAL_API_KEY) from the environment.
set -eu

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-7d}"
: "${TEMPORAL_ADDRESS:?host:port of the Temporal frontend}"

# The server's health check passes before every service is up; bounded wait (60 x 2 s).
tries=0
until temporal operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "setup: Temporal at $TEMPORAL_ADDRESS not healthy after 120 s" >&2; exit 1; }
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "setup: namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "setup: namespace $NAMESPACE created (retention $RETENTION)"
fi

# A new namespace reaches the server's namespace cache a few seconds after it is created; until then it is "not
# found" for search attributes. Bounded wait (30 x 2 s).
tries=0
until existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" --output json 2>/dev/null); do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "setup: namespace $NAMESPACE not served after 60 s" >&2; exit 1; }
  sleep 2
done
for name in AutoscalerCluster NodeGroup NodeName ScalingPhase; do
  if printf '%s' "$existing" | grep -q "\"$name\""; then
    echo "setup: search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword
    echo "setup: search attribute $name created"
  fi
done
