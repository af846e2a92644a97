//! Behavioural tests for the store, watchers and compaction.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use tempfile::TempDir;

use crate::store::list_sql;
use crate::*;

fn temp_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db").join("state.db");
    let store = Store::open(&path, StoreOptions::default()).expect("open");
    (dir, path, store)
}

fn kv(key: &str, create: i64, modr: i64, value: &[u8]) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        create_revision: create,
        mod_revision: modr,
        value: value.to_vec(),
    }
}

fn keys(page: &ListPage) -> Vec<&str> {
    page.items.iter().map(|i| i.key.as_str()).collect()
}

fn all_at(store: &Store, prefix: &str, revision: Option<i64>) -> Vec<KeyValue> {
    store
        .list(
            prefix,
            &ListOptions {
                revision,
                ..Default::default()
            },
        )
        .expect("list")
        .items
}

#[test]
fn create_update_delete_revisions() {
    let (_d, _p, s) = temp_store();
    assert_eq!(s.current_revision(), 0);
    assert_eq!(s.create("/r/a", b"1").unwrap(), 1);
    assert_eq!(s.create("/r/b", b"x").unwrap(), 2);
    assert_eq!(s.update("/r/a", b"2", None).unwrap(), 3);
    assert_eq!(s.get("/r/a").unwrap(), Some(kv("/r/a", 1, 3, b"2")));
    assert_eq!(s.current_revision(), 3);

    let (rev, last) = s.delete("/r/a", Some(3)).unwrap();
    assert_eq!(rev, 4);
    assert_eq!(last, kv("/r/a", 1, 4, b"2"));
    assert_eq!(s.get("/r/a").unwrap(), None);

    // Re-create gets a fresh create revision.
    assert_eq!(s.create("/r/a", b"3").unwrap(), 5);
    assert_eq!(s.get("/r/a").unwrap(), Some(kv("/r/a", 5, 5, b"3")));
    assert_eq!(s.get("/r/b").unwrap(), Some(kv("/r/b", 2, 2, b"x")));
    assert_eq!(s.count("/r/").unwrap(), 2);
    assert_eq!(s.current_revision(), 5);
}

#[test]
fn conflict_on_stale_revision() {
    let (_d, _p, s) = temp_store();
    let r1 = s.create("/k", b"a").unwrap();
    let r2 = s.update("/k", b"b", Some(r1)).unwrap();
    match s.update("/k", b"c", Some(r1)) {
        Err(StoreError::Conflict {
            key,
            current_revision,
        }) => {
            assert_eq!(key, "/k");
            assert_eq!(current_revision, r2);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(s.delete("/k", Some(r1)).unwrap_err().is_conflict());
    // Failed writes consume no revision and change nothing.
    assert_eq!(s.current_revision(), r2);
    assert_eq!(s.get("/k").unwrap().unwrap().value, b"b");
    let r3 = s.update("/k", b"c", Some(r2)).unwrap();
    assert_eq!(r3, r2 + 1);
    let (r4, _) = s.delete("/k", Some(r3)).unwrap();
    assert_eq!(r4, r3 + 1);
}

#[test]
fn already_exists_and_not_found() {
    let (_d, _p, s) = temp_store();
    s.create("/k", b"a").unwrap();
    assert!(matches!(
        s.create("/k", b"b"),
        Err(StoreError::AlreadyExists { key }) if key == "/k"
    ));
    assert!(s.update("/missing", b"x", None).unwrap_err().is_not_found());
    assert!(
        s.update("/missing", b"x", Some(1))
            .unwrap_err()
            .is_not_found()
    );
    assert!(s.delete("/missing", None).unwrap_err().is_not_found());
    s.delete("/k", None).unwrap();
    assert!(s.update("/k", b"x", None).unwrap_err().is_not_found());
    assert!(s.delete("/k", None).unwrap_err().is_not_found());
    assert_eq!(s.current_revision(), 2);
    assert_eq!(s.get("/missing").unwrap(), None);
}

#[test]
fn list_prefix_uses_ranges_not_like() {
    let (_d, _p, s) = temp_store();
    for k in ["/a/x", "/a/y", "/a/%", "/a_b", "/ab", "/b/1", "/a/y/z"] {
        s.create(k, k.as_bytes()).unwrap();
    }
    let got: Vec<String> = all_at(&s, "/a/", None).into_iter().map(|k| k.key).collect();
    assert_eq!(got, ["/a/%", "/a/x", "/a/y", "/a/y/z"]);
    assert_eq!(s.count("/a/").unwrap(), 4);
    assert_eq!(s.count("/a").unwrap(), 6);
    assert_eq!(s.count("").unwrap(), 7);
    assert_eq!(s.count("/c").unwrap(), 0);
    assert_eq!(all_at(&s, "", None).len(), 7);

    // Every list/count query must be an index range search, never a scan.
    let db = rusqlite::Connection::open(s.path()).unwrap();
    for latest in [true, false] {
        for count in [true, false] {
            for bounded in [true, false] {
                let sql = list_sql(latest, count, ">=", bounded);
                let mut stmt = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let mut rows = stmt.raw_query();
                let mut plan = String::new();
                while let Some(row) = rows.next().unwrap() {
                    plan.push_str(&row.get::<_, String>(3).unwrap());
                    plan.push('\n');
                }
                if bounded {
                    assert!(!plan.contains("SCAN"), "{sql}\n{plan}");
                }
                assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
                assert!(!plan.contains("LIKE"), "{sql}");
            }
        }
    }
}

#[test]
fn list_pagination_consistent_while_writing() {
    let (_d, _p, s) = temp_store();
    for i in 0..25 {
        s.create(&format!("/p/{i:03}"), format!("v{i}").as_bytes())
            .unwrap();
    }
    s.create("/q/outside", b"o").unwrap();
    let expected = all_at(&s, "/p/", None);
    assert_eq!(expected.len(), 25);

    let mut seen = Vec::new();
    let mut opts = ListOptions {
        revision: None,
        start_after: None,
        limit: Some(7),
    };
    let mut pinned = None;
    let mut page_no = 0;
    loop {
        let page = s.list("/p/", &opts).unwrap();
        if let Some(r) = pinned {
            assert_eq!(page.revision, r, "page read at the pinned revision");
        }
        pinned = Some(page.revision);
        seen.extend(page.items.iter().cloned());
        assert_eq!(page.remaining, (25 - seen.len()) as u64);
        assert_eq!(page.more, seen.len() < 25);
        // Concurrent churn between pages.
        s.update(&format!("/p/{page_no:03}"), b"changed", None)
            .unwrap();
        s.delete(&format!("/p/{:03}", 24 - page_no), None).unwrap();
        s.create(&format!("/p/{page_no:03}-new"), b"new").unwrap();
        page_no += 1;
        if !page.more {
            break;
        }
        opts = ListOptions {
            revision: Some(page.revision),
            start_after: page.items.last().map(|i| i.key.clone()),
            limit: Some(7),
        };
    }
    assert_eq!(page_no, 4);
    assert_eq!(seen, expected);

    // A latest list reflects the churn.
    let now = s.list("/p/", &ListOptions::default()).unwrap();
    assert_eq!(now.revision, s.current_revision());
    assert_eq!(now.items.len(), 25);
    assert!(!now.more);
    assert_eq!(now.remaining, 0);
}

#[test]
fn historic_get_and_list() {
    let (_d, _p, s) = temp_store();
    let r1 = s.create("/h/a", b"a1").unwrap();
    let r2 = s.create("/h/b", b"b1").unwrap();
    let r3 = s.update("/h/a", b"a2", None).unwrap();
    let (r4, _) = s.delete("/h/b", None).unwrap();
    let r5 = s.create("/h/b", b"b2").unwrap();

    assert_eq!(s.get_at("/h/a", 0).unwrap(), None);
    assert_eq!(
        s.get_at("/h/a", r1).unwrap(),
        Some(kv("/h/a", r1, r1, b"a1"))
    );
    assert_eq!(
        s.get_at("/h/a", r2).unwrap(),
        Some(kv("/h/a", r1, r1, b"a1"))
    );
    assert_eq!(
        s.get_at("/h/a", r3).unwrap(),
        Some(kv("/h/a", r1, r3, b"a2"))
    );
    assert_eq!(
        s.get_at("/h/b", r3).unwrap(),
        Some(kv("/h/b", r2, r2, b"b1"))
    );
    assert_eq!(s.get_at("/h/b", r4).unwrap(), None);
    assert_eq!(
        s.get_at("/h/b", r5).unwrap(),
        Some(kv("/h/b", r5, r5, b"b2"))
    );

    assert_eq!(all_at(&s, "/h/", Some(0)), vec![]);
    assert_eq!(
        all_at(&s, "/h/", Some(r2)),
        vec![kv("/h/a", r1, r1, b"a1"), kv("/h/b", r2, r2, b"b1")]
    );
    assert_eq!(all_at(&s, "/h/", Some(r4)), vec![kv("/h/a", r1, r3, b"a2")]);
    assert_eq!(
        all_at(&s, "/h/", Some(r5)),
        vec![kv("/h/a", r1, r3, b"a2"), kv("/h/b", r5, r5, b"b2")]
    );
    let page = s
        .list(
            "/h/",
            &ListOptions {
                revision: Some(r3),
                start_after: None,
                limit: Some(1),
            },
        )
        .unwrap();
    assert_eq!(page.revision, r3);
    assert_eq!(keys(&page), ["/h/a"]);
    assert!(page.more);
    assert_eq!(page.remaining, 1);

    // Future revisions are rejected.
    assert!(matches!(
        s.get_at("/h/a", r5 + 1),
        Err(StoreError::FutureRevision { requested, current }) if requested == r5 + 1 && current == r5
    ));
    assert!(matches!(
        s.list(
            "/h/",
            &ListOptions {
                revision: Some(r5 + 10),
                ..Default::default()
            }
        ),
        Err(StoreError::FutureRevision { .. })
    ));
}

#[test]
fn compaction_keeps_latest_values_and_retained_window() {
    let (_d, _p, s) = temp_store();
    // History: 10 keys, each updated 9 times, 3 of them deleted, one re-created.
    for i in 0..10 {
        s.create(&format!("/c/{i}"), b"0").unwrap();
    }
    for round in 1..10 {
        for i in 0..10 {
            s.update(&format!("/c/{i}"), format!("{round}").as_bytes(), None)
                .unwrap();
        }
    }
    for i in 0..3 {
        s.delete(&format!("/c/{i}"), None).unwrap();
    }
    s.create("/c/0", b"again").unwrap();
    let head = s.current_revision();
    assert_eq!(head, 104);

    let keep = 60;
    let window: Vec<(i64, Vec<KeyValue>)> = (keep..=head)
        .map(|r| (r, all_at(&s, "/c/", Some(r))))
        .collect();
    let latest = all_at(&s, "", None);

    let removed = s.compact(keep).unwrap();
    // Rows superseded at or before 60: 10 creates + 40 updates (rounds 1..4) +
    // the round-5 updates of keys 0..9 at revisions 51..60 supersede round 4.
    assert_eq!(removed, 50);
    assert_eq!(s.compacted_revision(), keep);
    assert_eq!(s.compact(keep).unwrap(), 0, "idempotent");
    assert_eq!(s.compact(keep - 10).unwrap(), 0, "never goes backwards");

    for (r, items) in &window {
        assert_eq!(&all_at(&s, "/c/", Some(*r)), items, "state at {r}");
        for item in items {
            assert_eq!(s.get_at(&item.key, *r).unwrap().as_ref(), Some(item));
        }
    }
    assert_eq!(all_at(&s, "", None), latest);
    assert!(s.get_at("/c/5", keep - 1).unwrap_err().is_compacted());
    assert!(matches!(
        s.list(
            "/c/",
            &ListOptions {
                revision: Some(1),
                ..Default::default()
            }
        ),
        Err(StoreError::Compacted {
            requested: 1,
            compacted: 60
        })
    ));

    // Compacting to head drops tombstones and everything but the live rows.
    s.compact(head).unwrap();
    assert_eq!(all_at(&s, "", None), latest);
    let db = rusqlite::Connection::open(s.path()).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM kv", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, latest.len() as i64);
    // Revisions keep increasing after the newest rows were removed.
    assert_eq!(s.create("/c/1", b"new").unwrap(), head + 1);
    assert!(matches!(
        s.compact(head + 5),
        Err(StoreError::FutureRevision { .. })
    ));
}

#[test]
fn compaction_runs_in_batches() {
    let (_d, _p, s) = temp_store();
    s.create("/k", b"0").unwrap();
    for i in 1..2_500 {
        s.update("/k", format!("{i}").as_bytes(), None).unwrap();
    }
    let head = s.current_revision();
    assert_eq!(s.compact(head).unwrap(), (head - 1) as u64);
    assert_eq!(s.get("/k").unwrap().unwrap().value, b"2499");
    assert_eq!(s.get_at("/k", head).unwrap().unwrap().mod_revision, head);
}

#[test]
fn reopen_keeps_data_and_revisions_increase() {
    let (_d, path, s) = temp_store();
    s.create("/x/a", b"1").unwrap();
    s.create("/x/b", b"2").unwrap();
    s.update("/x/a", b"3", None).unwrap();
    let (r, _) = s.delete("/x/b", None).unwrap();
    assert_eq!(r, 4);
    s.compact(4).unwrap(); // removes the newest row (the tombstone)
    drop(s);

    let s = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(s.current_revision(), 4);
    assert_eq!(s.compacted_revision(), 4);
    assert_eq!(s.get("/x/a").unwrap(), Some(kv("/x/a", 1, 3, b"3")));
    assert_eq!(s.get("/x/b").unwrap(), None);
    assert!(s.watch("", 3).unwrap_err().is_compacted());
    assert_eq!(s.create("/x/b", b"again").unwrap(), 5);
    drop(s);

    let s = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(s.current_revision(), 5);
    assert_eq!(s.update("/x/b", b"more", Some(5)).unwrap(), 6);
}

#[test]
fn close_rejects_operations_and_ends_watchers() {
    let (_d, _p, s) = temp_store();
    s.create("/a", b"1").unwrap();
    let mut w = s.watch("/", 0).unwrap();
    let other = s.clone();
    s.close();
    assert!(matches!(other.create("/b", b"x"), Err(StoreError::Closed)));
    assert!(matches!(other.get("/a"), Err(StoreError::Closed)));
    assert!(matches!(other.watch("/", 0), Err(StoreError::Closed)));
    assert!(matches!(other.compact(1), Err(StoreError::Closed)));
    assert!(w.next_blocking().is_none());
    assert!(w.is_terminated());
}

#[test]
fn dropping_store_ends_watchers() {
    let (_d, _p, s) = temp_store();
    s.create("/a", b"1").unwrap();
    let mut w = s.watch("/", 0).unwrap();
    assert_eq!(w.next_blocking().unwrap().unwrap().kv.key, "/a");
    drop(s);
    assert!(w.next_blocking().is_none());
}

fn expect_event(ev: &Event, kind: EventKind, key: &str, rev: i64) {
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.kv.mod_revision),
        (kind, key, rev),
        "{ev:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_catch_up_then_live_in_order_without_duplicates() {
    let (_d, _p, s) = temp_store();
    s.create("/w/a", b"a1").unwrap(); // 1
    s.create("/other/x", b"x").unwrap(); // 2
    s.update("/w/a", b"a2", None).unwrap(); // 3
    s.create("/w/b", b"b1").unwrap(); // 4
    s.delete("/w/a", None).unwrap(); // 5

    let mut w = s.watch("/w/", 1).unwrap();
    // Writes racing with the catch-up.
    let writer = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || {
            for i in 0..200 {
                s.create(&format!("/w/n{i:03}"), b"n").unwrap();
                s.create(&format!("/other/n{i:03}"), b"n").unwrap();
            }
        })
    };
    let first = w.next().await.unwrap().unwrap();
    expect_event(&first, EventKind::Updated, "/w/a", 3);
    assert_eq!(first.kv.create_revision, 1);
    assert_eq!(first.kv.value, b"a2");
    assert_eq!(first.prev_value.as_deref(), Some(&b"a1"[..]));
    let ev = w.next().await.unwrap().unwrap();
    expect_event(&ev, EventKind::Created, "/w/b", 4);
    assert_eq!(ev.prev_value, None);
    let ev = w.next().await.unwrap().unwrap();
    expect_event(&ev, EventKind::Deleted, "/w/a", 5);
    assert_eq!(ev.kv.value, b"a2");
    assert_eq!(ev.kv.create_revision, 1);
    assert_eq!(ev.prev_value.as_deref(), Some(&b"a2"[..]));

    let mut last = 5;
    for i in 0..200 {
        let ev = tokio::time::timeout(Duration::from_secs(20), w.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        expect_event(&ev, EventKind::Created, &format!("/w/n{i:03}"), 6 + 2 * i);
        assert!(ev.kv.mod_revision > last);
        last = ev.kv.mod_revision;
    }
    writer.await.unwrap();
    // Nothing more (no duplicates) until a new write arrives.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), w.next())
            .await
            .is_err()
    );
    let s2 = s.clone();
    let rev = tokio::task::spawn_blocking(move || s2.update("/w/b", b"b2", None).unwrap())
        .await
        .unwrap();
    let ev = w.next().await.unwrap().unwrap();
    expect_event(&ev, EventKind::Updated, "/w/b", rev);
    assert_eq!(w.last_revision(), rev);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_watcher_sees_every_revision() {
    let (_d, _p, s) = temp_store();
    let mut w = s.watch("", 0).unwrap();
    let mut handles = Vec::new();
    for t in 0..4 {
        let s = s.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            for i in 0..50 {
                let k = format!("/t{t}/{i}");
                s.create(&k, b"1").unwrap();
                s.update(&k, b"2", None).unwrap();
            }
        }));
    }
    for rev in 1..=400 {
        let ev = tokio::time::timeout(Duration::from_secs(20), w.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        assert_eq!(ev.kv.mod_revision, rev, "gap-free, ordered, no duplicates");
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(s.current_revision(), 400);
    assert!(w.try_next().is_none());
}

#[test]
fn lagging_watcher_catches_up_from_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with_watch_capacity(&dir.path().join("db"), StoreOptions::default(), 4)
        .unwrap();
    let mut w = s.watch("/l/", 0).unwrap();
    s.create("/l/0", b"0").unwrap();
    expect_event(
        &w.next_blocking().unwrap().unwrap(),
        EventKind::Created,
        "/l/0",
        1,
    );
    // Now live; overflow the 4-slot channel.
    for i in 1..1_200 {
        s.create(&format!("/l/{i}"), b"v").unwrap();
        s.create(&format!("/m/{i}"), b"v").unwrap();
    }
    let mut revs = Vec::new();
    while let Some(ev) = w.try_next() {
        revs.push(ev.unwrap().kv.mod_revision);
    }
    let expected: Vec<i64> = (1..1_200).map(|i| 2 * i).collect();
    assert_eq!(revs, expected);
    // Back to live afterwards.
    let r = s.update("/l/0", b"1", None).unwrap();
    assert_eq!(w.try_next().unwrap().unwrap().kv.mod_revision, r);
    assert!(w.try_next().is_none());
    assert!(!w.is_terminated());
}

#[test]
fn watch_of_compacted_revision_fails() {
    let (_d, _p, s) = temp_store();
    for i in 0..10 {
        s.create(&format!("/k{i}"), b"v").unwrap();
    }
    s.compact(5).unwrap();
    assert!(matches!(
        s.watch("/", 4),
        Err(StoreError::Compacted {
            requested: 4,
            compacted: 5
        })
    ));
    // At the compacted revision itself everything after is still available.
    let mut w = s.watch("/", 5).unwrap();
    let revs: Vec<i64> = std::iter::from_fn(|| w.try_next())
        .map(|e| e.unwrap().kv.mod_revision)
        .collect();
    assert_eq!(revs, [6, 7, 8, 9, 10]);
}

#[test]
fn watcher_compacted_while_pending_yields_compacted_then_ends() {
    // Compacted before the first catch-up.
    let (_d, _p, s) = temp_store();
    s.create("/a", b"1").unwrap();
    let mut w = s.watch("/", 0).unwrap();
    s.update("/a", b"2", None).unwrap();
    s.compact(2).unwrap();
    assert!(w.next_blocking().unwrap().unwrap_err().is_compacted());
    assert!(w.next_blocking().is_none());

    // Lagging live watcher whose missed events get compacted.
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with_watch_capacity(&dir.path().join("db"), StoreOptions::default(), 2)
        .unwrap();
    let mut w = s.watch("/", 0).unwrap();
    s.create("/a", b"0").unwrap();
    assert_eq!(w.try_next().unwrap().unwrap().kv.mod_revision, 1);
    assert!(w.try_next().is_none()); // live now
    for i in 1..20 {
        s.update("/a", format!("{i}").as_bytes(), None).unwrap();
    }
    s.compact(15).unwrap();
    match w.try_next() {
        Some(Err(StoreError::Compacted {
            requested,
            compacted,
        })) => {
            assert_eq!((requested, compacted), (1, 15));
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(w.try_next().is_none());
    assert!(w.is_terminated());
}

#[test]
fn next_blocking_refuses_async_context() {
    let (_d, _p, s) = temp_store();
    let mut w = s.watch("/", 0).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let res = rt.block_on(async { w.next_blocking() });
    assert!(matches!(res, Some(Err(StoreError::Internal(_)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_compactor_keeps_retention_window() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        retention_revisions: 10,
        compact_interval: Duration::from_millis(20),
        read_connections: 2,
    };
    let s = Store::open(&dir.path().join("db"), opts).unwrap();
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        s2.create("/k", b"0").unwrap();
        for i in 1..100 {
            s2.update("/k", format!("{i}").as_bytes(), None).unwrap();
        }
    })
    .await
    .unwrap();
    let handle = s.spawn_compactor();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.compacted_revision() != 90 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "compactor did not run"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let s2 = s.clone();
    let at90 = tokio::task::spawn_blocking(move || s2.get_at("/k", 90))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at90.unwrap().value, b"89");
    drop(s);
    // The task ends once the store is gone.
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("compactor stops")
        .unwrap();
}

#[test]
fn list_5000_at_latest() {
    let (_d, _p, s) = temp_store();
    for i in 0..5_000 {
        s.create(&format!("/registry/pods/ns/p{i:05}"), &[b'x'; 256])
            .unwrap();
    }
    // Plenty of superseded history that a latest list must not walk.
    for i in 0..5_000 {
        s.update(&format!("/registry/pods/ns/p{i:05}"), &[b'y'; 256], None)
            .unwrap();
    }
    // Speed is a benchmark's business (bench/); here only the result and its order count.
    let page = s.list("/registry/pods/", &ListOptions::default()).unwrap();
    assert_eq!(page.items.len(), 5_000);
    assert!(page.items.windows(2).all(|w| w[0].key < w[1].key));
    assert!(page.items.iter().all(|kv| kv.value == [b'y'; 256]));
    let page = s
        .list(
            "/registry/pods/",
            &ListOptions {
                limit: Some(500),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (page.items.len(), page.more, page.remaining),
        (500, true, 4_500)
    );
    assert_eq!(s.count("/registry/pods/ns/").unwrap(), 5_000);
}

#[test]
fn odd_inputs_do_not_panic() {
    let (_d, _p, s) = temp_store();
    s.create("", b"").unwrap();
    s.create("\u{10FFFF}", b"max").unwrap();
    s.create("a\0b", b"nul").unwrap();
    assert_eq!(s.get("a\0b").unwrap().unwrap().value, b"nul");
    assert_eq!(s.count("").unwrap(), 3);
    assert_eq!(s.count("\u{10FFFF}").unwrap(), 1);
    assert!(s.get_at("", -5).unwrap_err().is_compacted());
    assert_eq!(s.get_at("", 0).unwrap(), None);
    assert!(s.get_at("", i64::MAX).is_err());
    let page = s
        .list(
            "",
            &ListOptions {
                revision: Some(0),
                start_after: Some("zzz".into()),
                limit: Some(usize::MAX),
            },
        )
        .unwrap();
    assert!(page.items.is_empty());
    assert!(s.compact(-3).is_ok());
    assert!(s.watch("", -1).unwrap_err().is_compacted());
    assert!(
        s.update("", b"x", Some(i64::MIN))
            .unwrap_err()
            .is_conflict()
    );
}

// ---------------------------------------------------------------------------
// Model-based property test.

macro_rules! prop_assert_matches {
    ($e:expr, $($p:tt)+) => {{
        let v = &$e;
        prop_assert!(matches!(v, $($p)+), "unexpected: {:?}", v);
    }};
}

const KEYS: &[&str] = &["/a/1", "/a/2", "/a/10", "/a", "/ab", "/b/1", "/b/2"];
const PREFIXES: &[&str] = &["", "/a/", "/a", "/b/", "/c", "/a/1"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize, u8),
    Update(usize, u8, Option<u8>),
    Delete(usize, Option<u8>),
    Get(usize),
    GetAt(usize, u8),
    List(usize, usize, Option<u8>),
    Compact(u8),
    Reopen,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let k = 0..KEYS.len();
    prop_oneof![
        4 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Create(k, v)),
        4 => (k.clone(), any::<u8>(), proptest::option::of(any::<u8>()))
            .prop_map(|(k, v, e)| Op::Update(k, v, e)),
        2 => (k.clone(), proptest::option::of(any::<u8>())).prop_map(|(k, e)| Op::Delete(k, e)),
        1 => k.clone().prop_map(Op::Get),
        2 => (k, any::<u8>()).prop_map(|(k, r)| Op::GetAt(k, r)),
        2 => (0..PREFIXES.len(), 0usize..4, proptest::option::of(any::<u8>()))
            .prop_map(|(p, l, r)| Op::List(p, l, r)),
        1 => any::<u8>().prop_map(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    /// `history[r]` is the state after revision `r`.
    history: Vec<BTreeMap<String, KeyValue>>,
    events: Vec<Event>,
    compacted: i64,
}

impl Model {
    fn new() -> Self {
        Model {
            history: vec![BTreeMap::new()],
            ..Default::default()
        }
    }
    fn rev(&self) -> i64 {
        self.history.len() as i64 - 1
    }
    fn live(&self) -> &BTreeMap<String, KeyValue> {
        &self.history[self.history.len() - 1]
    }
    /// Map a random byte onto a revision in `[-1, rev + 1]`, biased to valid ones.
    fn pick_rev(&self, r: u8) -> i64 {
        (i64::from(r) % (self.rev() + 3)) - 1
    }
    fn commit(&mut self, state: BTreeMap<String, KeyValue>, ev: Event) {
        self.history.push(state);
        self.events.push(ev);
    }
    /// Expected mod-revision precondition from a random byte.
    fn pick_expected(&self, key: &str, e: Option<u8>) -> Option<i64> {
        let actual = self.live().get(key).map_or(0, |kv| kv.mod_revision);
        e.map(|e| if e % 2 == 0 { actual } else { self.pick_rev(e) })
    }
    fn check_rev(&self, r: i64) -> Result<(), (i64, i64)> {
        if r > self.rev() || r < self.compacted {
            Err((r, self.rev()))
        } else {
            Ok(())
        }
    }
}

fn run_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut s = Store::open(&path, StoreOptions::default()).unwrap();
    let mut m = Model::new();
    for op in ops {
        match op {
            Op::Create(k, v) => {
                let key = KEYS[k];
                let res = s.create(key, &[v]);
                if m.live().contains_key(key) {
                    prop_assert_matches!(res, Err(StoreError::AlreadyExists { .. }));
                } else {
                    let rev = m.rev() + 1;
                    prop_assert_eq!(res.unwrap(), rev);
                    let item = kv(key, rev, rev, &[v]);
                    let mut st = m.live().clone();
                    st.insert(key.to_owned(), item.clone());
                    m.commit(
                        st,
                        Event {
                            kind: EventKind::Created,
                            kv: item,
                            prev_value: None,
                        },
                    );
                }
            }
            Op::Update(k, v, e) => {
                let key = KEYS[k];
                let expected = m.pick_expected(key, e);
                let res = s.update(key, &[v], expected);
                match m.live().get(key).cloned() {
                    None => prop_assert!(res.unwrap_err().is_not_found()),
                    Some(cur) if expected.is_some_and(|e| e != cur.mod_revision) => {
                        prop_assert_matches!(res, Err(StoreError::Conflict { current_revision, .. })
                            if *current_revision == cur.mod_revision);
                    }
                    Some(cur) => {
                        let rev = m.rev() + 1;
                        prop_assert_eq!(res.unwrap(), rev);
                        let item = kv(key, cur.create_revision, rev, &[v]);
                        let mut st = m.live().clone();
                        st.insert(key.to_owned(), item.clone());
                        m.commit(
                            st,
                            Event {
                                kind: EventKind::Updated,
                                kv: item,
                                prev_value: Some(cur.value),
                            },
                        );
                    }
                }
            }
            Op::Delete(k, e) => {
                let key = KEYS[k];
                let expected = m.pick_expected(key, e);
                let res = s.delete(key, expected);
                match m.live().get(key).cloned() {
                    None => prop_assert!(res.unwrap_err().is_not_found()),
                    Some(cur) if expected.is_some_and(|e| e != cur.mod_revision) => {
                        prop_assert!(res.unwrap_err().is_conflict());
                    }
                    Some(cur) => {
                        let rev = m.rev() + 1;
                        let item = kv(key, cur.create_revision, rev, &cur.value);
                        prop_assert_eq!(res.unwrap(), (rev, item.clone()));
                        let mut st = m.live().clone();
                        st.remove(key);
                        m.commit(
                            st,
                            Event {
                                kind: EventKind::Deleted,
                                kv: item,
                                prev_value: Some(cur.value),
                            },
                        );
                    }
                }
            }
            Op::Get(k) => {
                prop_assert_eq!(s.get(KEYS[k]).unwrap(), m.live().get(KEYS[k]).cloned());
            }
            Op::GetAt(k, r) => {
                let rev = m.pick_rev(r);
                let res = s.get_at(KEYS[k], rev);
                match m.check_rev(rev) {
                    Ok(()) => {
                        prop_assert_eq!(res.unwrap(), m.history[rev as usize].get(KEYS[k]).cloned())
                    }
                    Err(_) if rev > m.rev() => {
                        prop_assert_matches!(res, Err(StoreError::FutureRevision { .. }))
                    }
                    Err(_) => prop_assert!(res.unwrap_err().is_compacted()),
                }
            }
            Op::List(p, limit, r) => {
                let prefix = PREFIXES[p];
                let revision = r.map(|r| m.pick_rev(r));
                let mut opts = ListOptions {
                    revision,
                    start_after: None,
                    limit: Some(limit),
                };
                let res = s.list(prefix, &opts);
                let at = revision.unwrap_or(m.rev());
                if m.check_rev(at).is_err() {
                    if at > m.rev() {
                        prop_assert_matches!(res, Err(StoreError::FutureRevision { .. }));
                    } else {
                        prop_assert!(res.unwrap_err().is_compacted());
                    }
                    continue;
                }
                let want: Vec<KeyValue> = m.history[at as usize]
                    .values()
                    .filter(|kv| kv.key.starts_with(prefix))
                    .cloned()
                    .collect();
                let mut got = Vec::new();
                let mut page = res.unwrap();
                loop {
                    prop_assert_eq!(page.revision, at);
                    if limit > 0 {
                        prop_assert!(page.items.len() <= limit);
                    }
                    got.extend(page.items.iter().cloned());
                    prop_assert_eq!(
                        page.remaining,
                        (want.len() - got.len().min(want.len())) as u64
                    );
                    prop_assert_eq!(page.more, got.len() < want.len());
                    if !page.more {
                        break;
                    }
                    opts = ListOptions {
                        revision: Some(page.revision),
                        start_after: page.items.last().map(|i| i.key.clone()),
                        limit: Some(limit),
                    };
                    page = s.list(prefix, &opts).unwrap();
                }
                prop_assert_eq!(&got, &want);
                if revision.is_none() {
                    prop_assert_eq!(s.count(prefix).unwrap(), want.len() as u64);
                }
            }
            Op::Compact(r) => {
                let rev = m.pick_rev(r);
                let res = s.compact(rev);
                if rev > m.rev() {
                    prop_assert_matches!(res, Err(StoreError::FutureRevision { .. }));
                } else {
                    res.unwrap();
                    m.compacted = m.compacted.max(rev);
                }
                prop_assert_eq!(s.compacted_revision(), m.compacted);
            }
            Op::Reopen => {
                drop(s);
                s = Store::open(&path, StoreOptions::default()).unwrap();
                prop_assert_eq!(s.current_revision(), m.rev());
                prop_assert_eq!(s.compacted_revision(), m.compacted);
            }
        }
        prop_assert_eq!(s.current_revision(), m.rev());
    }

    // Watches from the oldest retained revision replay exactly the model's
    // events, for every prefix.
    for prefix in PREFIXES {
        for after in [m.compacted, (m.compacted + m.rev()) / 2] {
            let mut w = s.watch(prefix, after).unwrap();
            let got: Vec<Event> = std::iter::from_fn(|| w.try_next())
                .collect::<Result<_, _>>()
                .unwrap();
            let want: Vec<Event> = m
                .events
                .iter()
                .filter(|e| e.kv.mod_revision > after && e.kv.key.starts_with(prefix))
                .cloned()
                .collect();
            prop_assert_eq!(got, want);
        }
    }
    if m.compacted > 0 {
        prop_assert!(s.watch("", m.compacted - 1).unwrap_err().is_compacted());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_in_memory_model(ops in proptest::collection::vec(op_strategy(), 1..60)) {
        run_model(ops)?;
    }
}

#[test]
fn values_can_embed_their_own_revision() {
    let (_d, _p, s) = temp_store();
    let rev = s
        .create_with("/k", |rev| format!("rv={rev}").into_bytes())
        .unwrap();
    assert_eq!(
        s.get("/k").unwrap().unwrap().value,
        format!("rv={rev}").into_bytes()
    );
    let rev2 = s
        .update_with("/k", |rev| format!("rv={rev}").into_bytes(), Some(rev))
        .unwrap();
    assert!(rev2 > rev);
    assert_eq!(
        s.get("/k").unwrap().unwrap().value,
        format!("rv={rev2}").into_bytes()
    );
    // a refused write never asks for the value
    let refused = s.update_with("/k", |_| panic!("must not be called"), Some(rev));
    assert!(matches!(refused, Err(StoreError::Conflict { .. })));
    let dup = s.create_with("/k", |_| panic!("must not be called"));
    assert!(matches!(dup, Err(StoreError::AlreadyExists { .. })));
}
