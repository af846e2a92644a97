#!/usr/bin/env python3
"""The python `kubernetes` client against warren: list, watch from the list's resourceVersion,
410 after compaction (the server must run with a small --retention-revisions), relist.

Usage: client_watch.py KUBECONFIG

Prints one line per checked step; the last line is "OK". Exits non-zero on the first failure.
Run by tests/python_client.rs.
"""

import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "py-client"
TIMEOUT = 30


def say(*parts):
    print(*parts, flush=True)


def fail(msg):
    say("FAIL", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def cm(name, labels, data):
    return client.V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        data=data,
    )


def expect_api_error(fn, status, reason, what):
    try:
        fn()
    except ApiException as e:
        check(e.status == status, f"{what}: status {e.status}, want {status}: {e}")
        check(reason in str(e.body), f"{what}: reason {reason} not in body {e.body}")
        say("ERROR", what, e.status, reason)
        return
    fail(f"{what}: no ApiException")


def main():
    config.load_kube_config(config_file=sys.argv[1])
    v1 = client.CoreV1Api()

    v1.create_namespace(
        client.V1Namespace(api_version="v1", kind="Namespace", metadata=client.V1ObjectMeta(name=NS))
    )
    created = {}
    for i in range(3):
        o = v1.create_namespaced_config_map(NS, cm(f"py-{i}", {"app": "py"}, {"k": str(i)}))
        created[o.metadata.name] = int(o.metadata.resource_version)
    check(len(set(created.values())) == 3, f"resourceVersions not distinct: {created}")

    # list
    listed = v1.list_namespaced_config_map(NS, label_selector="app=py")
    names = [o.metadata.name for o in listed.items]
    check(names == ["py-0", "py-1", "py-2"], f"list: {names}")
    list_rv = listed.metadata.resource_version
    check(int(list_rv) >= max(created.values()), f"list RV {list_rv} < {created}")
    say("LIST", ",".join(names))

    # paginated list
    page1 = v1.list_namespaced_config_map(NS, label_selector="app=py", limit=2)
    check([o.metadata.name for o in page1.items] == ["py-0", "py-1"], "page 1")
    check(page1.metadata._continue, "page 1 has no continue token")
    page2 = v1.list_namespaced_config_map(
        NS, label_selector="app=py", limit=2, _continue=page1.metadata._continue
    )
    check([o.metadata.name for o in page2.items] == ["py-2"], "page 2")
    check(not page2.metadata._continue, "page 2 has a continue token")
    say("PAGES", 2)

    # writes after the list: the watch from the list RV replays them, in order
    o = v1.read_namespaced_config_map("py-1", NS)
    o.data = {"k": "changed"}
    modified = v1.replace_namespaced_config_map("py-1", NS, o)
    added = v1.create_namespaced_config_map(NS, cm("py-3", {"app": "py"}, {"k": "3"}))
    v1.delete_namespaced_config_map("py-0", NS)
    v1.create_namespaced_config_map(NS, cm("py-other", {"app": "other"}, {}))

    want = [
        ("MODIFIED", "py-1", modified.metadata.resource_version),
        ("ADDED", "py-3", added.metadata.resource_version),
        ("DELETED", "py-0", None),
        ("ADDED", "py-live", None),
    ]
    got = []
    w = watch.Watch()

    def live_write():
        time.sleep(0.5)
        v1.create_namespaced_config_map(NS, cm("py-live", {"app": "py"}, {"k": "live"}))

    live = None
    for ev in w.stream(
        v1.list_namespaced_config_map,
        NS,
        label_selector="app=py",
        resource_version=list_rv,
        timeout_seconds=TIMEOUT,
        _request_timeout=TIMEOUT + 5,
    ):
        obj = ev["object"]
        got.append((ev["type"], obj.metadata.name, obj.metadata.resource_version))
        say("EVENT", ev["type"], obj.metadata.name, obj.metadata.resource_version)
        if len(got) == 3 and live is None:
            # the replayed history is in; now a live change on the same watch
            live = threading.Thread(target=live_write)
            live.start()
        if len(got) == len(want):
            w.stop()
    if live is not None:
        live.join()
    check(len(got) == len(want), f"watch ended early: {got}")
    for (t, n, rv), (wt, wn, wrv) in zip(got, want):
        check((t, n) == (wt, wn), f"watch events {got}, want {want}")
        if wrv is not None:
            check(rv == wrv, f"{t} {n}: rv {rv}, want {wrv}")
    rvs = [int(rv) for _, _, rv in got]
    check(rvs == sorted(rvs) and len(set(rvs)) == len(rvs), f"watch RVs not increasing: {rvs}")
    say("WATCH", "ok")

    # errors
    expect_api_error(lambda: v1.read_namespaced_config_map("nope", NS), 404, "NotFound", "get-missing")
    expect_api_error(
        lambda: v1.create_namespaced_config_map(NS, cm("py-1", {}, {})),
        409,
        "AlreadyExists",
        "create-duplicate",
    )

    # compaction: churn far past the retention window, then a watch at the old RV is 410
    old_rv = list_rv
    for i in range(25):
        v1.create_namespaced_config_map(NS, cm(f"churn-{i}", {"app": "churn"}, {"k": str(i)}))

    deadline = time.time() + 30
    gone = None
    while gone is None:
        try:
            # timeout_seconds disables the client's own retry: the first ERROR event raises
            for ev in watch.Watch().stream(
                v1.list_namespaced_config_map,
                NS,
                resource_version=old_rv,
                timeout_seconds=1,
                _request_timeout=10,
            ):
                if ev["type"] == "ERROR":
                    fail(f"ERROR event yielded instead of raised: {ev['raw_object']}")
        except ApiException as e:
            gone = e
            break
        check(time.time() < deadline, f"revision {old_rv} never compacted")
        time.sleep(0.2)
    check(gone.status == 410, f"watch at compacted RV: status {gone.status}: {gone}")
    check("Expired" in str(gone.reason), f"watch at compacted RV: reason {gone.reason}")
    say("GONE", gone.status, str(gone.reason).split(":")[0])

    # the default watch (no timeout) retries once after a 410 from the same RV, then raises
    try:
        for ev in watch.Watch().stream(
            v1.list_namespaced_config_map, NS, resource_version=old_rv, _request_timeout=20
        ):
            fail(f"event from a compacted revision: {ev['type']}")
        fail("watch at compacted RV ended without an error")
    except ApiException as e:
        check(e.status == 410, f"retrying watch: status {e.status}: {e}")
    say("GONE-RETRY", 410)

    # a list at the exact compacted revision is 410 Expired too
    expect_api_error(
        lambda: v1.list_namespaced_config_map(
            NS, resource_version=old_rv, resource_version_match="Exact"
        ),
        410,
        "Expired",
        "list-exact-compacted",
    )

    # recover: relist, then watch from the new list RV
    relisted = v1.list_namespaced_config_map(NS, label_selector="app=py")
    names = sorted(o.metadata.name for o in relisted.items)
    check(names == ["py-1", "py-2", "py-3", "py-live"], f"relist: {names}")
    say("RELIST", ",".join(names))
    new_rv = relisted.metadata.resource_version
    check(int(new_rv) > int(old_rv), "relist RV did not advance")
    v1.create_namespaced_config_map(NS, cm("py-after", {"app": "py"}, {"k": "after"}))
    w = watch.Watch()
    seen = None
    for ev in w.stream(
        v1.list_namespaced_config_map,
        NS,
        label_selector="app=py",
        resource_version=new_rv,
        timeout_seconds=TIMEOUT,
        _request_timeout=TIMEOUT + 5,
    ):
        seen = (ev["type"], ev["object"].metadata.name)
        w.stop()
    check(seen == ("ADDED", "py-after"), f"watch after relist: {seen}")
    say("REWATCH", *seen)

    # models built without apiVersion/kind (as in most examples) are sent without them; the
    # apiserver defaults both from the URL, as kube-apiserver's decoder does
    kindless = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-kindless"), data={"a": "b"})
    try:
        made = v1.create_namespaced_config_map(NS, kindless)
    except ApiException as e:
        fail(f"create without apiVersion/kind: {e.status} {e.body}")
    check(made.kind == "ConfigMap" and made.api_version == "v1", f"kindless: {made.kind}")
    say("KINDLESS", "ok")
    say("OK")


if __name__ == "__main__":
    main()
