//! kill -9 during a stream of acknowledged writes: every write warren acknowledged must survive
//! the crash, with data at least as new as acknowledged; writes in flight at the kill are either
//! fully there or absent; after the restart new writes get higher resourceVersions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::WatchEvent;
use kube::{Api, Client, ResourceExt};
use warren_e2e::Warren;

const NAMESPACE: &str = "crash";
const WRITERS: usize = 4;
/// Each object is created, updated this many times, and every third one then deleted.
const UPDATES: u32 = 2;

async fn client(w: &Warren) -> Client {
    let kc = Kubeconfig::read_from(&w.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config from warren kubeconfig");
    Client::try_from(config).expect("kube client")
}

fn cm(name: &str, version: u32, writer: usize) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("crash".to_string(), "1".to_string())].into()),
            ..Default::default()
        },
        data: Some(
            [
                ("v".to_string(), version.to_string()),
                ("writer".to_string(), writer.to_string()),
                // some bulk so a write is more than a few bytes
                ("pad".to_string(), format!("{name}-{version}-").repeat(20)),
            ]
            .into(),
        ),
        ..Default::default()
    }
}

fn rv_of(obj: &ConfigMap) -> i64 {
    obj.resource_version()
        .expect("resourceVersion")
        .parse()
        .expect("numeric resourceVersion")
}

fn version_of(obj: &ConfigMap) -> u32 {
    obj.data.as_ref().expect("data")["v"]
        .parse()
        .expect("numeric v")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Create,
    Update(u32),
    Delete,
}

/// What the server acknowledged for one object.
#[derive(Debug, Default, Clone)]
struct Acked {
    uid: String,
    /// Data version `v` and resourceVersion of the newest acknowledged create/update.
    version: u32,
    rv: i64,
    deleted: bool,
}

#[derive(Debug, Default)]
struct Ledger {
    acked: BTreeMap<String, Acked>,
    /// Per writer: the operation sent but not acknowledged when the writer stopped.
    in_flight: BTreeMap<usize, (String, Op)>,
    /// The highest resourceVersion of any acknowledged write (including deletes).
    max_rv: i64,
    acked_writes: usize,
    /// Errors seen before the kill (there must be none).
    early_errors: Vec<String>,
}

/// Writes as fast as it can until a request fails, recording every acknowledged write.
async fn writer(
    api: Api<ConfigMap>,
    id: usize,
    round: usize,
    ledger: Arc<Mutex<Ledger>>,
    killing: Arc<AtomicBool>,
) {
    let pp = PostParams::default();
    for i in 0.. {
        let name = format!("r{round}-w{id}-{i:05}");
        let mut ops = vec![Op::Create];
        ops.extend((1..=UPDATES).map(Op::Update));
        if i % 3 == 0 {
            ops.push(Op::Delete);
        }
        let mut current: Option<ConfigMap> = None;
        for op in ops {
            ledger
                .lock()
                .unwrap()
                .in_flight
                .insert(id, (name.clone(), op));
            let result = match op {
                Op::Create => api.create(&pp, &cm(&name, 0, id)).await.map(Some),
                Op::Update(v) => {
                    let mut obj = cm(&name, v, id);
                    obj.metadata.resource_version = current
                        .as_ref()
                        .and_then(|c| c.metadata.resource_version.clone());
                    api.replace(&name, &pp, &obj).await.map(Some)
                }
                Op::Delete => api
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|either| {
                        // kube-apiserver answers a delete of a configmap with a Success Status
                        // (`Right`); accept the deleted object (`Left`) too
                        either
                            .map_right(|status| assert!(status.is_success(), "{status:?}"))
                            .left()
                    }),
            };
            let mut l = ledger.lock().unwrap();
            match result {
                Ok(obj) => {
                    l.in_flight.remove(&id);
                    l.acked_writes += 1;
                    match op {
                        Op::Create | Op::Update(_) => {
                            let obj = obj.expect("create/update returns the object");
                            let rv = rv_of(&obj);
                            let v = version_of(&obj);
                            assert_eq!(v, if let Op::Update(v) = op { v } else { 0 });
                            let entry = l.acked.entry(name.clone()).or_default();
                            assert!(rv > entry.rv, "{name}: rv went backwards");
                            entry.rv = rv;
                            entry.version = v;
                            entry.uid = obj.uid().expect("uid");
                            l.max_rv = l.max_rv.max(rv);
                            current = Some(obj);
                        }
                        Op::Delete => {
                            if let Some(obj) = obj {
                                l.max_rv = l.max_rv.max(rv_of(&obj));
                            }
                            l.acked.get_mut(&name).expect("acked create").deleted = true;
                        }
                    }
                }
                Err(e) => {
                    if !killing.load(Ordering::SeqCst) {
                        l.early_errors.push(format!("{name} {op:?}: {e}"));
                    }
                    return;
                }
            }
        }
    }
}

/// Runs the writers, kill -9s warren after `after`, waits for every writer to stop, restarts.
async fn write_kill_restart(
    w: &mut Warren,
    round: usize,
    after: Duration,
    ledger: &Arc<Mutex<Ledger>>,
) {
    let client = client(w).await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let killing = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|id| {
            tokio::spawn(writer(
                api.clone(),
                id,
                round,
                ledger.clone(),
                killing.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(after).await;
    let before_kill = ledger.lock().unwrap().acked_writes;
    killing.store(true, Ordering::SeqCst);
    w.kill9();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("writer did not stop after the kill")
            .expect("writer panicked");
    }
    let l = ledger.lock().unwrap();
    assert!(
        l.early_errors.is_empty(),
        "writes failed before the kill: {:?}\n{}",
        l.early_errors,
        w.log()
    );
    assert!(
        before_kill >= 20,
        "round {round}: only {before_kill} writes acknowledged before the kill"
    );
    assert_eq!(
        l.in_flight.len(),
        WRITERS,
        "every writer stops on a failed write"
    );
    drop(l);
    w.restart_after_kill9();
}

/// Checks the restarted server against the ledger.
async fn verify(w: &Warren, ledger: &Mutex<Ledger>) -> Api<ConfigMap> {
    let client = client(w).await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let list = api
        .list(&ListParams::default().labels("crash=1"))
        .await
        .expect("list after restart");
    let list_rv: i64 = list
        .metadata
        .resource_version
        .as_deref()
        .expect("list RV")
        .parse()
        .expect("numeric list RV");
    let l = ledger.lock().unwrap();
    assert!(
        list_rv >= l.max_rv,
        "list RV {list_rv} after restart is older than acknowledged write {}",
        l.max_rv
    );

    let mut present: BTreeMap<String, ConfigMap> = BTreeMap::new();
    for item in list.items {
        let name = item.name_any();
        assert!(
            present.insert(name.clone(), item).is_none(),
            "{name} listed twice"
        );
    }
    let in_flight: BTreeMap<&str, Op> = l
        .in_flight
        .values()
        .map(|(n, op)| (n.as_str(), *op))
        .collect();

    let mut problems = Vec::new();
    let mut expected_live = 0usize;
    for (name, acked) in &l.acked {
        let flight = in_flight.get(name.as_str()).copied();
        match (present.get(name), acked.deleted) {
            (Some(_), true) => problems.push(format!("{name}: acknowledged delete undone")),
            (None, true) => {}
            (None, false) if flight == Some(Op::Delete) => {}
            (None, false) => problems.push(format!("{name}: acknowledged write lost ({acked:?})")),
            (Some(obj), false) => {
                if flight != Some(Op::Delete) {
                    expected_live += 1;
                }
                let v = version_of(obj);
                let rv = rv_of(obj);
                let allowed_newer = matches!(flight, Some(Op::Update(n)) if n == v);
                if v < acked.version {
                    problems.push(format!(
                        "{name}: data v{v} older than acknowledged v{}",
                        acked.version
                    ));
                } else if v > acked.version && !allowed_newer {
                    problems.push(format!("{name}: data v{v} was never written ({acked:?})"));
                }
                if v == acked.version && rv != acked.rv {
                    problems.push(format!(
                        "{name}: resourceVersion {rv}, acknowledged {}",
                        acked.rv
                    ));
                }
                if rv < acked.rv {
                    problems.push(format!("{name}: resourceVersion {rv} < acked {}", acked.rv));
                }
                if obj.uid().as_deref() != Some(acked.uid.as_str()) {
                    problems.push(format!("{name}: uid changed (re-created?)"));
                }
                if *obj != {
                    let mut want = cm(
                        name,
                        v,
                        obj.data.as_ref().unwrap()["writer"].parse().unwrap(),
                    );
                    want.metadata = obj.metadata.clone();
                    want
                } {
                    problems.push(format!("{name}: data is not what was written: {obj:?}"));
                }
            }
        }
    }
    // objects nobody acknowledged: only the creates in flight at the kill, complete
    let mut unacked_present = 0usize;
    for (name, obj) in &present {
        if l.acked.contains_key(name) {
            continue;
        }
        if in_flight.get(name.as_str()) != Some(&Op::Create) {
            problems.push(format!("{name}: present but never written"));
            continue;
        }
        unacked_present += 1;
        let writer: usize = obj.data.as_ref().unwrap()["writer"].parse().unwrap();
        let mut want = cm(name, 0, writer);
        want.metadata = obj.metadata.clone();
        if *obj != want || obj.labels().get("crash").map(String::as_str) != Some("1") {
            problems.push(format!(
                "{name}: in-flight create only partially present: {obj:?}"
            ));
        }
    }
    let live = present.len();
    eprintln!(
        "after restart: {} acknowledged writes on {} objects, {live} live, in flight at the kill: \
         {:?}, {unacked_present} unacknowledged creates present",
        l.acked_writes,
        l.acked.len(),
        l.in_flight
    );
    let in_flight_creates = in_flight.values().filter(|op| **op == Op::Create).count();
    let in_flight_deletes = in_flight.values().filter(|op| **op == Op::Delete).count();
    if live + in_flight_deletes < expected_live
        || live > expected_live + in_flight_creates + in_flight_deletes
    {
        problems.push(format!(
            "{live} objects after restart; acknowledged live {expected_live}, in-flight creates \
             {in_flight_creates}, deletes {in_flight_deletes}"
        ));
    }
    assert!(
        problems.is_empty(),
        "after kill -9 and restart ({} acknowledged writes, in flight {:?}, {unacked_present} \
         unacknowledged creates present):\n{}\nserver log:\n{}",
        l.acked_writes,
        l.in_flight,
        problems.join("\n"),
        w.log()
    );
    // the writes in flight are settled now: take the restarted server's word for them
    let settled: Vec<(String, Op)> = l.in_flight.values().cloned().collect();
    let mut l = l;
    for (name, _) in settled {
        match present.get(&name) {
            Some(obj) => {
                let entry = l.acked.entry(name.clone()).or_default();
                entry.version = version_of(obj);
                entry.rv = rv_of(obj);
                entry.uid = obj.uid().unwrap_or_default();
                entry.deleted = false;
            }
            None => {
                if let Some(entry) = l.acked.get_mut(&name) {
                    entry.deleted = true;
                }
            }
        }
    }
    l.in_flight.clear();
    let newest_present = present.values().map(rv_of).max().unwrap_or(0);
    l.max_rv = l.max_rv.max(newest_present);
    drop(l);
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_during_acknowledged_writes_loses_nothing() {
    let mut w = Warren::start();
    {
        let client = client(&w).await;
        let nss: Api<Namespace> = Api::all(client);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(NAMESPACE.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        nss.create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
    }
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    // two crash rounds on the same data directory, with different kill points
    for (round, after) in [
        (0, Duration::from_millis(1500)),
        (1, Duration::from_millis(1100)),
    ] {
        write_kill_restart(&mut w, round, after, &ledger).await;
        let api = verify(&w, &ledger).await;

        // new writes after the restart get resourceVersions above every acknowledged one
        let max_rv = ledger.lock().unwrap().max_rv;
        let name = format!("after-restart-{round}");
        let created = api
            .create(&PostParams::default(), &cm(&name, 0, 99))
            .await
            .expect("create after restart");
        assert!(
            rv_of(&created) > max_rv,
            "write after restart got resourceVersion {} <= acknowledged {max_rv}",
            rv_of(&created)
        );
        let mut update = created.clone();
        update.data.as_mut().unwrap().insert("v".into(), "1".into());
        let updated = api
            .replace(&name, &PostParams::default(), &update)
            .await
            .expect("update after restart");
        assert!(rv_of(&updated) > rv_of(&created));
        api.delete(&name, &DeleteParams::default())
            .await
            .expect("delete after restart");
        let mut l = ledger.lock().unwrap();
        l.max_rv = rv_of(&updated);
    }

    // the restarted server still serves a watch from its list revision
    let client = client(&w).await;
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let list = api
        .list(&ListParams::default().labels("crash=1"))
        .await
        .expect("final list");
    let list_rv = list.metadata.resource_version.expect("list RV");
    let created = api
        .create(&PostParams::default(), &cm("final", 0, 99))
        .await
        .expect("final create");
    let mut stream = api
        .watch(
            &WatchParams::default().labels("crash=1").timeout(30),
            &list_rv,
        )
        .await
        .expect("watch")
        .boxed();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.next()).await {
            Ok(Some(Ok(WatchEvent::Added(o)))) => {
                assert_eq!(o.name_any(), "final");
                assert_eq!(o.resource_version(), created.resource_version());
                break;
            }
            Ok(Some(Ok(WatchEvent::Bookmark(_)))) => {}
            other => panic!("expected ADDED final, got {other:?}"),
        }
    }
}
