"""Creates N ConfigMaps named PREFIX-0..N-1 with label bench=LABEL, 16 at a time (not timed)."""
import http.client, json, ssl, sys, threading

host, port, token, ca, prefix, label, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
failures = []

def worker(start):
    conn = http.client.HTTPSConnection(host, port, context=ctx)
    for i in range(start, count, 16):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": f"{prefix}-{i}", "labels": {"bench": label}},
                           "data": {"key": "value-%d" % i}})
        conn.request("POST", "/api/v1/namespaces/bench/configmaps", body,
                     {"Content-Type": "application/json", "Authorization": "Bearer " + token})
        r = conn.getresponse(); r.read()
        if r.status not in (201, 409):
            failures.append(r.status)

threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
if failures:
    sys.exit(f"populate: {len(failures)} failures, e.g. {failures[:3]}")
