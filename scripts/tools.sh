#!/usr/bin/env bash
# Builds the real binaries our tests and demo run (Temporal CLI, etcd, Kubernetes control plane, KWOK, Helm)
# from the Go module proxy, into a cache outside the work tree keyed by component and version.
# Re-running with everything cached only checks stamps and takes seconds.
set -euo pipefail

TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
TOOLS_DIR="${SLICER_AUTOSCALER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/slicer-autoscaler/tools}"

START_ALL=$(date +%s)
step() { printf '[tools %4ss] %s\n' "$(( $(date +%s) - START_ALL ))" "$*"; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed. Install Go >= 1.26 (e.g. 'apt-get install golang-1.26' or from go.dev) and re-run 'npm run tools'."
GO_MINOR=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${GO_MINOR:-0}" -ge 26 ] || die "Go $(go env GOVERSION) is too old: KWOK ${KWOK_VERSION} and Kubernetes ${K8S_VERSION} need Go >= 1.26."

export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod
BUILD_FLAGS=(-p 2 -trimpath)
mkdir -p "$TOOLS_DIR"
WORK="$TOOLS_DIR/.work"
mkdir -p "$WORK"

# Each component installs into $TOOLS_DIR/<name>-<version>/ and is marked done by a stamp file, so an
# interrupted build is redone instead of half-used.
built() { [ -f "$TOOLS_DIR/$1/.complete" ]; }
finish() { date -u +%FT%TZ > "$TOOLS_DIR/$1/.complete"; du -sh "$TOOLS_DIR/$1" | awk -v n="$1" '{print "[tools] " n " uses " $1}'; }

with_elapsed() {
  local name="$1"; shift
  local t0; t0=$(date +%s)
  step "building $name (cold builds take minutes; go output follows)"
  if ! "$@"; then die "building $name failed: see the go output above. Check that the Go module proxy is reachable (go env GOPROXY) and that disk is free (df -h $TOOLS_DIR)."; fi
  step "built $name in $(( $(date +%s) - t0 ))s"
}

build_temporal() {
  local dir="$TOOLS_DIR/temporal-$TEMPORAL_CLI_VERSION"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go install "${BUILD_FLAGS[@]}" \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION#v}" \
    "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}"
}

build_etcd() {
  local dir="$TOOLS_DIR/etcd-$ETCD_VERSION" mod="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$dir/bin" "$mod"
  (cd "$mod" && rm -f go.mod go.sum && go mod init local/etcd-build >/dev/null 2>&1 \
    && go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" \
    && go build "${BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  local dir="$TOOLS_DIR/kwok-$KWOK_VERSION"
  mkdir -p "$dir/bin" "$dir/stages"
  GOBIN="$dir/bin" go install "${BUILD_FLAGS[@]}" -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  # v0.8 ships no built-in stages; its module carries the stock ones, which we use as they are.
  local src; src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@${KWOK_VERSION}/kustomize/stage"
  [ -d "$src" ] || go mod download "sigs.k8s.io/kwok@${KWOK_VERSION}"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ -f "$src/$f" ] || { echo "missing stage $src/$f" >&2; return 1; }
    install -m 0644 "$src/$f" "$dir/stages/$(echo "$f" | tr / _)"
  done
}

build_helm() {
  local dir="$TOOLS_DIR/helm-$HELM_VERSION"
  mkdir -p "$dir/bin"
  # Helm's Makefile stamps its version and the Kubernetes version its client-go speaks (the default for
  # `helm template`'s .Capabilities and for `helm lint`); without them helm claims Kubernetes v1.20.
  local gomod; gomod=$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$gomod" ] || { echo "could not download helm.sh/helm/v3@${HELM_VERSION} go.mod" >&2; return 1; }
  local clientgo; clientgo=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  local minor="${clientgo#v0.}"; minor="${minor%%.*}"
  [ -n "$minor" ] || { echo "no k8s.io/client-go version in $gomod" >&2; return 1; }
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ld="$ld -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=${minor}"
  done
  GOBIN="$dir/bin" go install "${BUILD_FLAGS[@]}" -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
}

build_k8s() {
  local dir="$TOOLS_DIR/kubernetes-$K8S_VERSION" mod="$WORK/kubernetes-$K8S_VERSION"
  local staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$dir/bin" "$mod"
  (
    set -e
    cd "$mod"
    rm -f go.mod go.sum
    go mod init local/kubernetes-build >/dev/null 2>&1
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths; point
    # each one at its published version instead, reading the list from the release's own go.mod.
    local upstream; upstream=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    [ -f "$upstream" ] || { echo "could not download k8s.io/kubernetes@${K8S_VERSION} go.mod" >&2; exit 1; }
    local mods; mods=$(grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$upstream" | awk '{print $1}' | sort -u)
    [ -n "$mods" ] || { echo "no staging replaces found in $upstream" >&2; exit 1; }
    echo "[tools] replacing $(echo "$mods" | wc -l) staging modules with ${staging}"
    for m in $mods; do go mod edit "-replace=${m}=${m}@${staging}"; done
    go mod edit "-require=k8s.io/kubernetes@${K8S_VERSION}"
    for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      go get -tool "k8s.io/kubernetes/cmd/$c@${K8S_VERSION}"
    done
    local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor} -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%FT%TZ)"
    done
    go build "${BUILD_FLAGS[@]}" -ldflags "$ld" -o "$dir/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  )
}

# Order: what the fastest tests need first (helm renders the chart in unit tests).
for spec in "helm-$HELM_VERSION:build_helm" "temporal-$TEMPORAL_CLI_VERSION:build_temporal" "etcd-$ETCD_VERSION:build_etcd" \
            "kwok-$KWOK_VERSION:build_kwok" "kubernetes-$K8S_VERSION:build_k8s"; do
  name="${spec%%:*}"; fn="${spec#*:}"
  if built "$name"; then step "$name cached"; continue; fi
  with_elapsed "$name" "$fn"
  finish "$name"
done

# A stable manifest the TypeScript side reads, so versions live in one place.
cat > "$TOOLS_DIR/manifest.json" <<JSON
{
  "temporal": "$TOOLS_DIR/temporal-$TEMPORAL_CLI_VERSION/bin/temporal",
  "etcd": "$TOOLS_DIR/etcd-$ETCD_VERSION/bin/etcd",
  "kubeApiserver": "$TOOLS_DIR/kubernetes-$K8S_VERSION/bin/kube-apiserver",
  "kubeControllerManager": "$TOOLS_DIR/kubernetes-$K8S_VERSION/bin/kube-controller-manager",
  "kubeScheduler": "$TOOLS_DIR/kubernetes-$K8S_VERSION/bin/kube-scheduler",
  "kubectl": "$TOOLS_DIR/kubernetes-$K8S_VERSION/bin/kubectl",
  "kwok": "$TOOLS_DIR/kwok-$KWOK_VERSION/bin/kwok",
  "kwokStages": "$TOOLS_DIR/kwok-$KWOK_VERSION/stages",
  "helm": "$TOOLS_DIR/helm-$HELM_VERSION/bin/helm"
}
JSON
step "all tools ready in $TOOLS_DIR (manifest.json)"
