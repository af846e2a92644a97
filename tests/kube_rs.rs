//! kube-rs 5 (client + runtime) against the real warren binary: lists with pagination and label
//! selectors, watches from a list's resourceVersion, the `watcher` stream (list-then-watch and
//! streaming lists), 410 Expired after compaction, and the API error statuses kube-rs maps.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams, VersionMatch, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::WatchEvent;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use warren_e2e::Warren;

/// How long any single expected event may take to arrive.
const STEP: Duration = Duration::from_secs(20);

async fn client(w: &Warren) -> Client {
    let kc = Kubeconfig::read_from(&w.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config from warren kubeconfig");
    Client::try_from(config).expect("kube client")
}

async fn namespace(client: &Client, name: &str) -> Api<ConfigMap> {
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    nss.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    Api::namespaced(client.clone(), name)
}

fn cm(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
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

/// The names in a list, in the server's order.
fn names(list: &[ConfigMap]) -> Vec<String> {
    list.iter().map(ResourceExt::name_any).collect()
}

/// Lists all pages with `limit`, checking each page's size and continue token; drops an empty
/// last page.
async fn list_paged(api: &Api<ConfigMap>, lp: &ListParams, limit: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut lp = lp.clone().limit(limit);
    let mut first_rv = None;
    loop {
        let page = api.list(&lp).await.expect("list page");
        assert!(page.items.len() <= limit as usize, "page over limit");
        let rv = page.metadata.resource_version.clone().expect("list RV");
        // every page of a paginated list is served at the first page's revision
        match &first_rv {
            None => first_rv = Some(rv),
            Some(first) => assert_eq!(&rv, first, "pages served at different revisions"),
        }
        pages.push(names(&page.items));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => {
                assert_eq!(page.items.len(), limit as usize, "short page with continue");
                assert!(
                    page.metadata.remaining_item_count.is_none_or(|n| n > 0),
                    "remainingItemCount with a continue token: {:?}",
                    page.metadata.remaining_item_count
                );
                lp.continue_token = Some(token);
            }
            None => {
                // with a selector the last full page may still carry a token (kube-apiserver
                // only knows that more keys follow, not whether they match): an empty last page
                if pages.len() > 1 && pages.last().is_some_and(Vec::is_empty) {
                    pages.pop();
                }
                return pages;
            }
        }
    }
}

async fn next_timeout<S, T>(stream: &mut S, what: &str) -> T
where
    S: Stream<Item = T> + Unpin,
{
    match tokio::time::timeout(STEP, stream.next()).await {
        Ok(Some(item)) => item,
        Ok(None) => panic!("stream ended while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Next non-bookmark watch event.
async fn next_watch_event<S>(stream: &mut S, what: &str) -> WatchEvent<ConfigMap>
where
    S: Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin,
{
    loop {
        match next_timeout(stream, what).await {
            Ok(WatchEvent::Bookmark(_)) => continue,
            Ok(ev) => return ev,
            Err(e) => panic!("watch stream error while waiting for {what}: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pagination_selectors_then_watch_from_list_rv() {
    let w = Warren::start();
    let client = client(&w).await;
    let api = namespace(&client, "kube-rs-list").await;

    let pp = PostParams::default();
    // seven objects: a0..a3 (app=a), b0..b1 (app=b), c0 (no app label); all e2e=kube-rs
    let mut created = BTreeMap::new();
    for (name, app) in [
        ("a0", Some("a")),
        ("a1", Some("a")),
        ("a2", Some("a")),
        ("a3", Some("a")),
        ("b0", Some("b")),
        ("b1", Some("b")),
        ("c0", None),
    ] {
        let mut labels = vec![("e2e", "kube-rs")];
        if let Some(app) = app {
            labels.push(("app", app));
        }
        let obj = api
            .create(&pp, &cm(name, &labels, &[("k", name)]))
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
        assert_eq!(obj.name_any(), name);
        assert_eq!(obj.data.as_ref().unwrap()["k"], name);
        created.insert(name.to_string(), rv_of(&obj));
    }
    // every write is a new, increasing revision
    let mut rvs: Vec<i64> = created.values().copied().collect();
    rvs.sort();
    rvs.dedup();
    assert_eq!(rvs.len(), 7, "resourceVersions not distinct: {created:?}");

    let everything = ListParams::default().labels("e2e=kube-rs");
    let full = api.list(&everything).await.expect("list");
    assert_eq!(
        names(&full.items),
        ["a0", "a1", "a2", "a3", "b0", "b1", "c0"],
        "list is ordered by name"
    );
    let list_rv: i64 = full
        .metadata
        .resource_version
        .as_deref()
        .expect("list resourceVersion")
        .parse()
        .expect("numeric list RV");
    assert!(
        list_rv >= *rvs.last().unwrap(),
        "list RV {list_rv} < newest write"
    );
    for item in &full.items {
        assert_eq!(rv_of(item), created[&item.name_any()], "object RV in list");
    }

    // pagination: limit 3 → 3 + 3 + 1, no duplicates, nothing missing
    let pages = list_paged(&api, &everything, 3).await;
    assert_eq!(
        pages,
        vec![vec!["a0", "a1", "a2"], vec!["a3", "b0", "b1"], vec!["c0"]]
    );
    // pagination with a limit that divides the count exactly
    let pages = list_paged(&api, &ListParams::default().labels("app=a"), 2).await;
    assert_eq!(pages, vec![vec!["a0", "a1"], vec!["a2", "a3"]]);
    // pagination combined with a selector whose matches are spread out
    let pages = list_paged(&api, &ListParams::default().labels("app!=a,e2e=kube-rs"), 2).await;
    assert_eq!(pages, vec![vec!["b0", "b1"], vec!["c0"]]);

    // label selectors
    for (selector, want) in [
        ("app=a", vec!["a0", "a1", "a2", "a3"]),
        ("app in (b)", vec!["b0", "b1"]),
        ("app notin (a),e2e=kube-rs", vec!["b0", "b1", "c0"]),
        ("e2e=kube-rs,!app", vec!["c0"]),
        ("app", vec!["a0", "a1", "a2", "a3", "b0", "b1"]),
        ("app=nothing", vec![]),
    ] {
        let got = api
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap_or_else(|e| panic!("list {selector}: {e:?}"));
        assert_eq!(names(&got.items), want, "selector {selector}");
    }
    // a field selector on metadata.name
    let got = api
        .list(&ListParams::default().fields("metadata.name=b1"))
        .await
        .expect("field selector list");
    assert_eq!(names(&got.items), ["b1"]);

    // writes after the list; the watch starts after all of them and must still see them, in order
    let mut a1 = api.get("a1").await.expect("get a1");
    a1.data
        .get_or_insert_default()
        .insert("k".into(), "changed".into());
    let modified = api.replace("a1", &pp, &a1).await.expect("replace a1");
    let added = api
        .create(&pp, &cm("d0", &[("e2e", "kube-rs")], &[("k", "d0")]))
        .await
        .expect("create d0");
    api.delete("b0", &DeleteParams::default())
        .await
        .expect("delete b0");
    // an object outside the selector does not show up
    api.create(&pp, &cm("other", &[("e2e", "not-me")], &[]))
        .await
        .expect("create other");

    let wp = WatchParams::default().labels("e2e=kube-rs").timeout(60);
    let mut stream = api
        .watch(&wp, &list_rv.to_string())
        .await
        .expect("watch")
        .boxed();
    match next_watch_event(&mut stream, "MODIFIED a1").await {
        WatchEvent::Modified(o) => {
            assert_eq!(o.name_any(), "a1");
            assert_eq!(o.data.as_ref().unwrap()["k"], "changed");
            assert_eq!(o.resource_version(), modified.resource_version());
        }
        other => panic!("expected MODIFIED a1, got {other:?}"),
    }
    match next_watch_event(&mut stream, "ADDED d0").await {
        WatchEvent::Added(o) => {
            assert_eq!(o.name_any(), "d0");
            assert_eq!(o.resource_version(), added.resource_version());
        }
        other => panic!("expected ADDED d0, got {other:?}"),
    }
    let deleted_rv = match next_watch_event(&mut stream, "DELETED b0").await {
        WatchEvent::Deleted(o) => {
            assert_eq!(o.name_any(), "b0");
            let rv = rv_of(&o);
            // the DELETED object carries the deletion's revision
            assert!(rv > rv_of(&added), "DELETED rv {rv} not after the ADDED");
            rv
        }
        other => panic!("expected DELETED b0, got {other:?}"),
    };

    // live changes on the same watch
    let live = api
        .create(&pp, &cm("e0", &[("e2e", "kube-rs")], &[("k", "e0")]))
        .await
        .expect("create e0");
    assert!(rv_of(&live) > deleted_rv);
    match next_watch_event(&mut stream, "ADDED e0 (live)").await {
        WatchEvent::Added(o) => {
            assert_eq!(o.name_any(), "e0");
            assert_eq!(o.resource_version(), live.resource_version());
        }
        other => panic!("expected ADDED e0, got {other:?}"),
    }
    // relabel out of the selector: a watch with a selector sees DELETED
    let mut e0 = live.clone();
    e0.labels_mut().insert("e2e".into(), "moved".into());
    let moved = api.replace("e0", &pp, &e0).await.expect("relabel e0");
    match next_watch_event(&mut stream, "DELETED e0 (left selector)").await {
        WatchEvent::Deleted(o) => {
            assert_eq!(o.name_any(), "e0");
            assert_eq!(o.resource_version(), moved.resource_version());
        }
        other => panic!("expected DELETED e0, got {other:?}"),
    }
}

/// Runs a watcher in the background, forwarding its events.
fn spawn_watcher(
    api: Api<ConfigMap>,
    config: watcher::Config,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<watcher::Event<ConfigMap>, watcher::Error>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher(api, config).boxed();
        while let Some(ev) = stream.next().await {
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
    rx
}

type WatcherRx =
    tokio::sync::mpsc::UnboundedReceiver<Result<watcher::Event<ConfigMap>, watcher::Error>>;

async fn recv(rx: &mut WatcherRx, what: &str) -> Result<watcher::Event<ConfigMap>, watcher::Error> {
    match tokio::time::timeout(STEP, rx.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("watcher ended while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Reads Init, InitApply*, InitDone; returns the names listed (data `k` by name).
async fn expect_init(rx: &mut WatcherRx) -> BTreeMap<String, String> {
    match recv(rx, "Init").await {
        Ok(watcher::Event::Init) => {}
        other => panic!("expected Init, got {other:?}"),
    }
    let mut seen = BTreeMap::new();
    loop {
        match recv(rx, "InitApply/InitDone").await {
            Ok(watcher::Event::InitApply(o)) => {
                let k = o
                    .data
                    .as_ref()
                    .and_then(|d| d.get("k").cloned())
                    .unwrap_or_default();
                assert!(
                    seen.insert(o.name_any(), k).is_none(),
                    "object listed twice: {}",
                    o.name_any()
                );
            }
            Ok(watcher::Event::InitDone) => return seen,
            other => panic!("expected InitApply or InitDone, got {other:?}"),
        }
    }
}

async fn expect_apply(rx: &mut WatcherRx, name: &str, k: &str) {
    match recv(rx, &format!("Apply {name}")).await {
        Ok(watcher::Event::Apply(o)) => {
            assert_eq!(o.name_any(), name);
            assert_eq!(o.data.as_ref().unwrap()["k"], k, "data of {name}");
        }
        other => panic!("expected Apply {name}, got {other:?}"),
    }
}

async fn expect_delete(rx: &mut WatcherRx, name: &str) {
    match recv(rx, &format!("Delete {name}")).await {
        Ok(watcher::Event::Delete(o)) => assert_eq!(o.name_any(), name),
        other => panic!("expected Delete {name}, got {other:?}"),
    }
}

async fn watcher_sees_initial_then_live(api: &Api<ConfigMap>, config: watcher::Config, tag: &str) {
    let pp = PostParams::default();
    let label = format!("w={tag}");
    let labels = [("w", tag)];
    for i in 0..3 {
        let name = format!("{tag}-{i}");
        api.create(&pp, &cm(&name, &labels, &[("k", &format!("v{i}"))]))
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
    }
    // noise outside the selector
    api.create(&pp, &cm(&format!("{tag}-noise"), &[("w", "noise")], &[]))
        .await
        .expect("noise");

    let mut rx = spawn_watcher(api.clone(), config.labels(&label));
    let initial = expect_init(&mut rx).await;
    let want: BTreeMap<String, String> = (0..3)
        .map(|i| (format!("{tag}-{i}"), format!("v{i}")))
        .collect();
    assert_eq!(initial, want, "{tag}: initial objects");

    // live changes, in order
    let name = format!("{tag}-new");
    api.create(&pp, &cm(&name, &labels, &[("k", "fresh")]))
        .await
        .expect("create live");
    expect_apply(&mut rx, &name, "fresh").await;

    let first = format!("{tag}-0");
    let mut obj = api.get(&first).await.expect("get");
    obj.data
        .get_or_insert_default()
        .insert("k".into(), "updated".into());
    api.replace(&first, &pp, &obj).await.expect("replace");
    expect_apply(&mut rx, &first, "updated").await;

    api.delete(&format!("{tag}-1"), &DeleteParams::default())
        .await
        .expect("delete");
    expect_delete(&mut rx, &format!("{tag}-1")).await;

    // nothing else (noise stays invisible)
    api.create(&pp, &cm(&format!("{tag}-noise2"), &[("w", "noise")], &[]))
        .await
        .expect("noise2");
    api.create(&pp, &cm(&format!("{tag}-last"), &labels, &[("k", "last")]))
        .await
        .expect("last");
    expect_apply(&mut rx, &format!("{tag}-last"), "last").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_watcher_list_watch_and_streaming_lists() {
    let w = Warren::start();
    let client = client(&w).await;
    let api = namespace(&client, "kube-rs-watcher").await;
    watcher_sees_initial_then_live(&api, watcher::Config::default(), "listwatch").await;
    watcher_sees_initial_then_live(
        &api,
        watcher::Config::default().streaming_lists(),
        "streaming",
    )
    .await;
    // a small page size makes the initial list paginate
    watcher_sees_initial_then_live(&api, watcher::Config::default().page_size(1), "paged").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_revision_answers_410_and_watcher_relists() {
    let w = Warren::start_with(&[
        "--retention-revisions",
        "5",
        "--compact-interval-seconds",
        "1",
    ]);
    let client = client(&w).await;
    let api = namespace(&client, "kube-rs-compact").await;
    let pp = PostParams::default();

    let keep = api
        .create(&pp, &cm("keep-0", &[("app", "keep")], &[("k", "0")]))
        .await
        .expect("create keep-0");
    let old_rv = keep.resource_version().expect("rv");

    // A watcher that only matches `app=keep`, re-watching every second (timeoutSeconds=1) with
    // bookmarks off: its resourceVersion stays at the list's while the churn below happens
    // elsewhere, so once that is compacted its re-watch must get 410 and it must relist.
    let config = watcher::Config::default()
        .labels("app=keep")
        .timeout(1)
        .disable_bookmarks();
    let mut rx = spawn_watcher(api.clone(), config);
    let initial = expect_init(&mut rx).await;
    assert_eq!(initial.keys().collect::<Vec<_>>(), ["keep-0"]);

    // more than 20 writes outside the selector
    for i in 0..12 {
        let name = format!("churn-{i}");
        let obj = api
            .create(&pp, &cm(&name, &[("app", "churn")], &[("k", "0")]))
            .await
            .expect("churn create");
        let mut obj = obj;
        obj.data
            .get_or_insert_default()
            .insert("k".into(), "1".into());
        api.replace(&name, &pp, &obj).await.expect("churn update");
    }
    let churn_last = api.get("churn-11").await.expect("get churn-11");
    let newest: i64 = rv_of(&churn_last);

    // wait for compaction: a watch at the old revision gets an ERROR event 410 Expired
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        let mut stream = api
            .watch(&WatchParams::default().timeout(2), &old_rv)
            .await
            .expect("watch at an old revision is accepted (the error comes as an event)")
            .boxed();
        let first = tokio::time::timeout(STEP, stream.next()).await;
        match first {
            Ok(Some(Ok(WatchEvent::Error(status)))) => break status,
            // not compacted yet: the watch replays the churn
            Ok(Some(Ok(_))) | Ok(None) | Err(_) => {}
            Ok(Some(Err(e))) => panic!("watch at old RV: stream error {e:?}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revision {old_rv} was never compacted (newest {newest}); log: {}",
            w.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status.code, 410, "watch at compacted RV: {status:?}");
    assert_eq!(
        status.reason, "Expired",
        "watch at compacted RV: {status:?}"
    );
    assert!(status.is_failure(), "status should be Failure: {status:?}");

    // a list at the exact compacted revision is 410 Expired as well
    let err = api
        .list(
            &ListParams::default()
                .at(&old_rv)
                .matching(VersionMatch::Exact),
        )
        .await
        .expect_err("exact list at a compacted revision");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 410, "{s:?}");
            assert_eq!(s.reason, "Expired", "{s:?}");
        }
        other => panic!("expected Error::Api 410, got {other:?}"),
    }
    // a list at a retained exact revision still works
    let at_newest = api
        .list(
            &ListParams::default()
                .labels("app=churn")
                .at(&newest.to_string())
                .matching(VersionMatch::Exact),
        )
        .await
        .expect("exact list at the newest revision");
    assert_eq!(at_newest.items.len(), 12);

    // the watcher hits the 410 on its next re-watch and relists
    let mut saw_gone = false;
    loop {
        match recv(&mut rx, "the watcher's 410 and relist").await {
            Err(watcher::Error::WatchError(s)) => {
                assert_eq!(s.code, 410, "watcher error: {s:?}");
                saw_gone = true;
            }
            Err(e) => panic!("unexpected watcher error: {e:?}"),
            Ok(watcher::Event::Init) => {
                assert!(saw_gone, "watcher relisted without a 410");
                break;
            }
            Ok(other) => panic!("unexpected watcher event before relist: {other:?}"),
        }
    }
    let mut relisted = BTreeSet::new();
    loop {
        match recv(&mut rx, "relist").await {
            Ok(watcher::Event::InitApply(o)) => {
                relisted.insert(o.name_any());
            }
            Ok(watcher::Event::InitDone) => break,
            other => panic!("expected InitApply/InitDone, got {other:?}"),
        }
    }
    assert_eq!(relisted.into_iter().collect::<Vec<_>>(), ["keep-0"]);

    // and it keeps delivering live changes after the relist
    api.create(&pp, &cm("keep-1", &[("app", "keep")], &[("k", "1")]))
        .await
        .expect("create keep-1");
    loop {
        match recv(&mut rx, "Apply keep-1").await {
            Ok(watcher::Event::Apply(o)) => {
                assert_eq!(o.name_any(), "keep-1");
                break;
            }
            // another re-watch race may produce another 410 + relist cycle; accept it
            Err(watcher::Error::WatchError(s)) if s.code == 410 => {}
            Ok(watcher::Event::Init) | Ok(watcher::Event::InitDone) => {}
            Ok(watcher::Event::InitApply(o)) if o.name_any().starts_with("keep-") => {
                if o.name_any() == "keep-1" {
                    break;
                }
            }
            other => panic!("expected Apply keep-1, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_404_409() {
    let w = Warren::start();
    let client = client(&w).await;
    let api = namespace(&client, "kube-rs-errors").await;
    let pp = PostParams::default();

    match api.get("missing").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 404, "{s:?}");
            assert_eq!(s.reason, "NotFound", "{s:?}");
            assert!(s.is_not_found());
            assert_eq!(s.message, r#"configmaps "missing" not found"#);
            let details = s.details.as_ref().expect("details");
            assert_eq!(details.name, "missing");
            assert_eq!(details.kind, "configmaps");
        }
        other => panic!("expected 404, got {other:?}"),
    }
    assert!(api.get_opt("missing").await.expect("get_opt").is_none());

    let first = api
        .create(&pp, &cm("dup", &[], &[("k", "1")]))
        .await
        .expect("create");
    match api.create(&pp, &cm("dup", &[], &[("k", "2")])).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert_eq!(s.reason, "AlreadyExists", "{s:?}");
            assert!(s.is_already_exists());
            assert_eq!(s.message, r#"configmaps "dup" already exists"#);
        }
        other => panic!("expected 409 AlreadyExists, got {other:?}"),
    }

    // replace with the current RV works; replaying the old RV afterwards conflicts
    let mut update = first.clone();
    update
        .data
        .get_or_insert_default()
        .insert("k".into(), "2".into());
    let updated = api.replace("dup", &pp, &update).await.expect("replace");
    assert!(rv_of(&updated) > rv_of(&first));
    let mut stale = first.clone();
    stale
        .data
        .get_or_insert_default()
        .insert("k".into(), "3".into());
    match api.replace("dup", &pp, &stale).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert_eq!(s.reason, "Conflict", "{s:?}");
            assert!(s.is_conflict());
            assert_eq!(
                s.message,
                r#"Operation cannot be fulfilled on configmaps "dup": the object has been modified; please apply your changes to the latest version and try again"#
            );
        }
        other => panic!("expected 409 Conflict, got {other:?}"),
    }
    // the stale write did not land
    let now = api.get("dup").await.expect("get");
    assert_eq!(now.data.as_ref().unwrap()["k"], "2");
    assert_eq!(now.resource_version(), updated.resource_version());

    // deleting a missing object is 404 too
    match api.delete("missing", &DeleteParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (404, "NotFound")),
        other => panic!("expected 404 on delete, got {other:?}"),
    }
    // and list of the namespace still works through the client
    let all: Vec<ConfigMap> = api
        .list(&ListParams::default().fields("metadata.name=dup"))
        .await
        .expect("list")
        .items;
    assert_eq!(all.len(), 1);
}
