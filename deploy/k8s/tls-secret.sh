#!/usr/bin/env bash
# Makes the TLS credentials of a syncgrad cluster and prints them as the Kubernetes Secret
# syncgrad-tls that coordinator.yaml and workers.yaml mount:
#
#   deploy/k8s/tls-secret.sh | kubectl apply -f -
#
# One key pair for the cluster's nodes (RSA 2048, valid 365 days) in node.p12, its certificate
# in cluster-trust.p12, and a random password for each store. Every node presents the key and
# accepts only peers whose certificate the truststore holds: a pod without the Secret cannot
# join. Needs keytool (any JDK) and base64. Nothing is left on disk.
set -euo pipefail
name=${1:-syncgrad-tls}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
password() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
ks=$(password)
ts=$(password)
keytool -genkeypair -alias node -keyalg RSA -keysize 2048 -dname CN=syncgrad -validity 365 \
  -storetype PKCS12 -keystore "$dir/node.p12" -storepass "$ks" >/dev/null 2>&1
keytool -exportcert -alias node -keystore "$dir/node.p12" -storepass "$ks" -file "$dir/node.crt" >/dev/null 2>&1
keytool -importcert -noprompt -alias node -file "$dir/node.crt" -storetype PKCS12 \
  -keystore "$dir/cluster-trust.p12" -storepass "$ts" >/dev/null 2>&1
b64() { base64 -w0 "$@"; }
cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $name
  labels: {app: syncgrad}
type: Opaque
data:
  node.p12: $(b64 "$dir/node.p12")
  cluster-trust.p12: $(b64 "$dir/cluster-trust.p12")
  keystore-password: $(printf %s "$ks" | b64)
  truststore-password: $(printf %s "$ts" | b64)
YAML
