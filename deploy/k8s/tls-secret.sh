#!/usr/bin/env bash
# Makes the TLS credentials of a syncgrad cluster with `syncgrad certs` and prints them as the
# Kubernetes Secret syncgrad-tls that coordinator.yaml and workers.yaml mount:
#
#   deploy/k8s/tls-secret.sh | kubectl apply -f -
#
# A certificate authority made for this cluster alone (its key is not kept: nobody can add a
# node to it afterwards), a keystore for the coordinator (coordinator.p12) and one that the
# worker pods share (worker.p12: they are identical pods of one Job; each worker's links are
# still bound to its own id by the key the coordinator gives it), the truststore holding the
# authority (trust.p12), and a random password for each store. Every node presents its key and
# accepts only peers whose certificate the authority signed: a pod without the Secret cannot
# join. Nothing is left on disk. SYNCGRAD names the syncgrad command (default: deploy/bin/syncgrad,
# which builds the jar on first use).
set -euo pipefail
name=${1:-syncgrad-tls}
syncgrad=${SYNCGRAD:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../bin" && pwd)/syncgrad"}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# shellcheck disable=SC2086 # SYNCGRAD may be a command with arguments (java -cp ... SyncgradCli)
$syncgrad certs --out "$dir/stores" --nodes 2 >/dev/null
s="$dir/stores"
b64() { base64 -w0 "$@"; }
password() { tr -d '\n' <"$1" | b64; }
cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $name
  labels: {app: syncgrad}
type: Opaque
data:
  coordinator.p12: $(b64 "$s/node-1.p12")
  coordinator-password: $(password "$s/node-1.password")
  worker.p12: $(b64 "$s/node-2.p12")
  worker-password: $(password "$s/node-2.password")
  trust.p12: $(b64 "$s/trust.p12")
  truststore-password: $(password "$s/trust.password")
YAML
