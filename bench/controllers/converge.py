"""Creates a Deployment of N replicas and reports how long until every pod exists and the
ReplicaSet's status says so; samples the total RSS of the given processes meanwhile.

usage: converge.py URL TOKEN REPLICAS PID [PID...]
prints: seconds peak_rss_kib final_rss_kib
"""
import json, ssl, sys, time, urllib.request

url, token, replicas = sys.argv[1], sys.argv[2], int(sys.argv[3])
pids = [int(p) for p in sys.argv[4:]]
ctx = ssl._create_unverified_context()  # timing only; loopback


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.load(r)


def rss_kib():
    total = 0
    for p in pids:
        with open(f"/proc/{p}/status") as f:
            total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
    return total


# the controllers must be up: the default service account admits pods
deadline = time.monotonic() + 120
while True:
    try:
        call("GET", "/api/v1/namespaces/default/serviceaccounts/default")
        break
    except Exception:
        if time.monotonic() > deadline:
            sys.exit("no default service account after 120 s")
        time.sleep(0.1)

deployment = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "big"}},
             "template": {"metadata": {"labels": {"app": "big"}},
                          "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]}}},
}
peak = rss_kib()
t0 = time.monotonic()
call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
next_sample = t0
while True:
    now = time.monotonic()
    if now >= next_sample:
        peak = max(peak, rss_kib())
        next_sample = now + 0.25
    rs = call("GET", "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dbig")["items"]
    if rs:
        st, gen = rs[0].get("status", {}), rs[0]["metadata"].get("generation")
        if (st.get("replicas") == replicas and st.get("fullyLabeledReplicas") == replicas
                and st.get("observedGeneration") == gen):
            break
    if now - t0 > 900:
        sys.exit("not converged after 900 s")
    time.sleep(0.05)
took = time.monotonic() - t0
pods = call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dbig")["items"]
if len(pods) != replicas:
    sys.exit(f"{len(pods)} pods exist, want {replicas}")
time.sleep(3)
final = rss_kib()
print(f"{took:.3f} {max(peak, final)} {final}")
