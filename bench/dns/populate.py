"""Creates NAMESPACES x PER_NS ClusterIP Services (svc-I in ns-J, one port `http` 80), 16 at a
time, then writes the query file for dnsperf and the same names as a zone file for the
authoritative anchor, with the ClusterIPs the API server allocated.

usage: populate.py host port token ca namespaces per_ns queries.txt zone.file
"""
import http.client, json, random, ssl, sys, threading

host, port, token, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
namespaces, per_ns = int(sys.argv[5]), int(sys.argv[6])
queries_path, zone_path = sys.argv[7], sys.argv[8]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
failures = []


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), headers)
    r = conn.getresponse()
    r.read()
    if r.status not in (201, 409):
        failures.append((path, r.status))


conn = http.client.HTTPSConnection(host, port, context=ctx)
for j in range(namespaces):
    post(conn, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{j}"}})

work = [(j, i) for j in range(namespaces) for i in range(per_ns)]


def worker(start):
    c = http.client.HTTPSConnection(host, port, context=ctx)
    for j, i in work[start::16]:
        post(c, f"/api/v1/namespaces/ns-{j}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})


threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
if failures:
    sys.exit(f"populate: {len(failures)} failures, e.g. {failures[:3]}")

conn.request("GET", "/api/v1/services", headers=headers)
r = conn.getresponse()
items = json.loads(r.read())["items"]
names = []
with open(zone_path, "w") as z:
    z.write("$ORIGIN cluster.local.\n$TTL 30\n")
    z.write("@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30\n")
    z.write("@ NS ns.dns.cluster.local.\nns.dns A 127.0.0.1\n")
    for s in items:
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        if not ns.startswith("ns-"):
            continue
        z.write(f"{name}.{ns}.svc A {s['spec']['clusterIP']}\n")
        names.append(f"{name}.{ns}.svc.cluster.local")
random.Random(1).shuffle(names)
with open(queries_path, "w") as q:
    for n in names:
        q.write(f"{n} A\n")
print(len(names))
