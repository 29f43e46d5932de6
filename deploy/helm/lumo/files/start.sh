#!/bin/sh
# Starts lumod in a pod. lumod's --join takes IP:port only, so the data pods' names are
# resolved here through the headless Service; the RPC listener binds the pod IP
# (LUMO_RPC_ADDR=$(POD_IP):9080), the address peers dial.
set -eu
: "${POD_NAMESPACE:?}" "${HOSTNAME:?}"
sts="${LUMO_DATA_STATEFULSET:-lumo-data}"
svc="${LUMO_HEADLESS_SERVICE:-lumo-data}"
replicas="${LUMO_DATA_REPLICAS:-3}"
domain="${LUMO_CLUSTER_DOMAIN:-cluster.local}"
role="${LUMO_ROLE:-data}"
data_dir="${LUMO_DATA_DIR:-/data}"
peers() {
  seeds=""
  i=0
  while [ "$i" -lt "$replicas" ]; do
    name="$sts-$i"
    if [ "$name" != "$HOSTNAME" ]; then
      ip="$(getent hosts "$name.$svc.$POD_NAMESPACE.svc.$domain" | awk '{print $1; exit}')"
      if [ -n "$ip" ]; then
        seeds="${seeds:+$seeds,}$ip:9080"
      fi
    fi
    i=$((i + 1))
  done
  echo "$seeds"
}
# A serving cluster member answers /readyz with 200; fresh pods do not serve while joining.
serving() {
  for seed in $(echo "$1" | tr ',' ' '); do
    if curl -fsS -o /dev/null -m 2 "http://${seed%:*}:8080/readyz" 2>/dev/null; then
      return 0
    fi
  done
  return 1
}
# Who must find a peer first: frontends, and data pods other than the first one that have
# no identity yet. Bounded: after 5 minutes the pod fails and Kubernetes restarts it.
must_join=false
if [ "$role" = frontend ]; then
  must_join=true
elif [ "${HOSTNAME##*-}" != 0 ] && [ ! -f "$data_dir/node.json" ]; then
  must_join=true
fi
seeds="$(peers)"
# The first pod on an empty volume starts the cluster, unless a peer already serves one (its
# volume was lost): then it joins as a new node.
if [ "$role" != frontend ] && [ "${HOSTNAME##*-}" = 0 ] && [ ! -f "$data_dir/node.json" ]; then
  if [ -n "$seeds" ] && serving "$seeds"; then
    exec /usr/local/bin/lumod serve --join "$seeds"
  fi
  exec /usr/local/bin/lumod serve
fi
waited=0
while [ -z "$seeds" ] && [ "$must_join" = true ]; do
  if [ "$waited" -ge 300 ]; then
    echo "start.sh: no pod of $sts resolves through $svc after ${waited}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
  seeds="$(peers)"
done
if [ "$role" = frontend ]; then
  exec /usr/local/bin/lumod serve --role frontend --join "$seeds"
fi
# A data node with an identity uses --join only to find the cluster.
if [ -n "$seeds" ]; then
  exec /usr/local/bin/lumod serve --join "$seeds"
fi
exec /usr/local/bin/lumod serve
