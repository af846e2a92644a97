"""Sync latency of a warren virtual cluster against a real host cluster.

Creates N pods in the virtual cluster at RATE pods/s and plays scheduler + kubelet on the host
itself (binds each host pod to one node, then sets it Running), so every timestamp is taken by
this one process on one clock:
  virtual -> host: the virtual create is sent -> the host watch shows the host pod;
  host -> virtual: the host watch shows the host pod Running -> the virtual watch shows the
                   virtual pod Running.
With DIRECT=1 it creates the pods straight in the host namespace instead (no syncer): the
floor any syncer pays for one host create plus one watch delivery.
Samples CPU time and RSS of PID (the virtual cluster's one process) meanwhile.

usage: latency.py VURL VTOKEN HURL HTOKEN HOST_NS VCLUSTER N RATE PID|-
prints one JSON object.
"""
import http.client, json, os, queue, ssl, sys, threading, time
from urllib.parse import urlparse

vurl, vtoken, hurl, htoken, host_ns, vcluster = sys.argv[1:7]
n, rate = int(sys.argv[7]), float(sys.argv[8])
pid = None if sys.argv[9] == "-" else int(sys.argv[9])
direct = os.environ.get("DIRECT") == "1"
ctx = ssl._create_unverified_context()  # timing only; loopback
NODE = "bench-node"
VNS = "bench"


class Api:
    """One keep-alive HTTPS connection per thread."""

    def __init__(self, url, token):
        self.u, self.token, self.local = urlparse(url), token, threading.local()

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = http.client.HTTPSConnection(self.u.hostname, self.u.port, context=ctx, timeout=60)
        return c

    def call(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        for attempt in range(3):
            c = self.conn()
            try:
                c.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers={"Authorization": "Bearer " + self.token, "Content-Type": ctype})
                r = c.getresponse()
                data = r.read()
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt == 2:
                    raise
                continue
            if r.status not in ok:
                raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
            return json.loads(data) if data else None

    def watch(self, path, on_event):
        """Lists then watches `path` forever (re-watching from the last resourceVersion)."""
        listed = self.call("GET", path)
        rv = listed["metadata"]["resourceVersion"]
        for item in listed["items"]:
            on_event("ADDED", item)
        while True:
            c = http.client.HTTPSConnection(self.u.hostname, self.u.port, context=ctx, timeout=300)
            sep = "&" if "?" in path else "?"
            c.request("GET", f"{path}{sep}watch=1&resourceVersion={rv}&allowWatchBookmarks=true",
                      headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            while True:
                line = r.readline()
                if not line:
                    break
                ev = json.loads(line)
                obj = ev["object"]
                rv = obj.get("metadata", {}).get("resourceVersion", rv)
                if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    on_event(ev["type"], obj)
            c.close()


v, h = Api(vurl, vtoken), Api(hurl, htoken)
lock = threading.Lock()
created, host_seen, host_running, virtual_running = {}, {}, {}, {}
kubelet_q = queue.Queue()


def running(obj):
    return obj.get("status", {}).get("phase") == "Running"


def on_host(kind, obj):
    now = time.monotonic()
    meta = obj["metadata"]
    name = meta["name"] if direct else meta.get("annotations", {}).get("vcluster.loft.sh/object-name")
    if not name:
        return
    with lock:
        if name not in host_seen:
            host_seen[name] = now
            kubelet_q.put(meta["name"])
        if running(obj) and name not in host_running:
            host_running[name] = now


def on_virtual(kind, obj):
    now = time.monotonic()
    name = obj["metadata"]["name"]
    with lock:
        if running(obj) and name not in virtual_running:
            virtual_running[name] = now


def kubelet():
    ip = 0
    while True:
        name = kubelet_q.get()
        base = f"/api/v1/namespaces/{host_ns}/pods/{name}"
        h.call("POST", base + "/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                                          "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}})
        with lock:
            ip += 1
            pod_ip = f"10.244.{ip // 250}.{ip % 250 + 2}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cond = lambda t: {"type": t, "status": "True", "lastTransitionTime": stamp}
        h.call("PATCH", base + "/status", {"status": {
            "phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "hostIP": "10.0.0.2",
            "startTime": stamp,
            "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
            "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "pause",
                                   "imageID": "pause", "started": True,
                                   "state": {"running": {"startedAt": stamp}}}]}},
               ctype="application/merge-patch+json")


def node_heartbeat():
    while True:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        h.call("PATCH", f"/api/v1/nodes/{NODE}/status", {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "bench",
             "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}}, ctype="application/merge-patch+json")
        time.sleep(5)


def create_node():
    h.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": NODE, "labels": {"kubernetes.io/hostname": NODE}}}, ok=(201, 409))
    h.call("PATCH", f"/api/v1/nodes/{NODE}/status", {"status": {
        "capacity": {"cpu": "1000", "memory": "4000Gi", "pods": "100000"},
        "allocatable": {"cpu": "1000", "memory": "4000Gi", "pods": "100000"},
        "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}}, ctype="application/merge-patch+json")


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]}}


proc_stat = lambda: open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    f = proc_stat()
    return (int(f[11]) + int(f[12])) / tick  # utime, stime


def rss_kib():
    """VmRSS, RssAnon (heap, stacks) and RssFile (the binary's code pages), in KiB."""
    with open(f"/proc/{pid}/status") as s:
        fields = dict(l.split(":", 1) for l in s if l.startswith(("VmRSS", "RssAnon", "RssFile")))
    return tuple(int(fields[k].split()[0]) for k in ("VmRSS", "RssAnon", "RssFile"))


create_node()
threading.Thread(target=node_heartbeat, daemon=True).start()
for _ in range(8):
    threading.Thread(target=kubelet, daemon=True).start()

if direct:
    create_api, create_path = h, f"/api/v1/namespaces/{host_ns}/pods"
    threading.Thread(target=h.watch, args=(create_path, on_host), daemon=True).start()
else:
    v.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": VNS}},
           ok=(201, 409))
    deadline = time.monotonic() + 60
    while True:  # pods are admitted once the namespace's default service account exists
        try:
            v.call("GET", f"/api/v1/namespaces/{VNS}/serviceaccounts/default")
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                sys.exit("no default service account in the virtual namespace")
            time.sleep(0.1)
    create_api, create_path = v, f"/api/v1/namespaces/{VNS}/pods"
    threading.Thread(target=h.watch, args=(
        f"/api/v1/namespaces/{host_ns}/pods?labelSelector=vcluster.loft.sh%2Fmanaged-by%3D{vcluster}", on_host),
        daemon=True).start()
    threading.Thread(target=v.watch, args=(create_path, on_virtual), daemon=True).start()
time.sleep(1)  # watches established

samples = []
stop_sampling = threading.Event()


def sampler():
    while not stop_sampling.is_set():
        samples.append((time.monotonic(), cpu_seconds(), rss_kib()))
        time.sleep(0.25)


if pid:
    threading.Thread(target=sampler, daemon=True).start()
CREATORS = 4
t0 = time.monotonic()
late = [0.0] * CREATORS


def creator(k):
    for i in range(k, n, CREATORS):
        due = t0 + i / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late[k] = max(late[k], -wait)
        name = f"p-{i:05d}"
        sent = time.monotonic()
        create_api.call("POST", create_path, pod(name))
        with lock:
            created[name] = sent


creators = [threading.Thread(target=creator, args=(k,)) for k in range(CREATORS)]
for c in creators:
    c.start()
for c in creators:
    c.join()
t_created = time.monotonic()
done = (lambda: len(host_running) >= n) if direct else (lambda: len(virtual_running) >= n)
deadline = time.monotonic() + 180
while not done() and time.monotonic() < deadline:
    time.sleep(0.05)
t_end = time.monotonic()
stop_sampling.set()
time.sleep(0.3)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000 if xs else None


with lock:
    to_host = [host_seen[k] - created[k] for k in created if k in host_seen]
    back = [virtual_running[k] - host_running[k] for k in host_running if k in virtual_running]
out = {
    "pods": n, "rate": rate, "direct": direct,
    "create_seconds": round(t_created - t0, 2), "creator_max_lag_ms": round(max(late) * 1000, 1),
    "to_host": {"count": len(to_host), "p50_ms": pct(to_host, 50), "p99_ms": pct(to_host, 99),
                "max_ms": pct(to_host, 100)},
    "to_virtual": {"count": len(back), "p50_ms": pct(back, 50), "p99_ms": pct(back, 99),
                   "max_ms": pct(back, 100)},
    "all_done_seconds": round(t_end - t0, 2),
}
if samples:
    (ts, c0, _), (te, c1, _) = samples[0], samples[-1]
    out["cpu_seconds"] = round(c1 - c0, 2)
    out["cpu_percent"] = round(100 * (c1 - c0) / max(te - ts, 1e-9), 1)
    peak = max(samples, key=lambda s: s[2][0])[2]
    out["rss_peak_mib"] = round(peak[0] / 1024, 1)
    out["rss_peak_anon_mib"] = round(peak[1] / 1024, 1)
    out["rss_peak_file_mib"] = round(peak[2] / 1024, 1)
    out["rss_end_mib"] = round(samples[-1][2][0] / 1024, 1)
print(json.dumps(out))
