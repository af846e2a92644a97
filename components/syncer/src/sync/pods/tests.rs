use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::json;

use super::*;

fn virtual_pod(uid: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec::default()),
        status: None,
    }
}

fn host_pod(for_uid: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web-x-default-x-vc".into()),
            namespace: Some("host".into()),
            uid: Some("host-uid".into()),
            annotations: Some(BTreeMap::from([(
                annotations::OBJECT_UID.to_owned(),
                for_uid.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec::default()),
        status: None,
    }
}

fn terminating(mut pod: Pod, grace: i64) -> Pod {
    pod.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    pod.metadata.deletion_grace_period_seconds = Some(grace);
    pod
}

#[test]
fn new_virtual_pods_are_created_on_the_host() {
    assert_eq!(
        decide(Some(&virtual_pod("u1")), None),
        PodAction::CreateHost
    );
    assert_eq!(decide(None, None), PodAction::Nothing);
}

#[test]
fn orphans_are_deleted_with_the_default_grace() {
    assert_eq!(
        decide(None, Some(&host_pod("u1"))),
        PodAction::DeleteHost { grace: None }
    );
    assert_eq!(
        decide(None, Some(&terminating(host_pod("u1"), 30))),
        PodAction::Nothing
    );
}

#[test]
fn started_pods_whose_host_pod_vanished_are_deleted_at_once() {
    let mut started = virtual_pod("u1");
    started.status = Some(PodStatus {
        start_time: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
        ..PodStatus::default()
    });
    assert_eq!(
        decide(Some(&started), None),
        PodAction::DeleteVirtual { grace: 0 }
    );
    assert_eq!(
        decide(Some(&terminating(virtual_pod("u1"), 30)), None),
        PodAction::DeleteVirtual { grace: 0 }
    );
}

#[test]
fn virtual_deletion_carries_its_grace_to_the_host() {
    assert_eq!(
        decide(
            Some(&terminating(virtual_pod("u1"), 7)),
            Some(&host_pod("u1"))
        ),
        PodAction::DeleteHost { grace: Some(7) }
    );
    // Already terminating on the host with that grace: only status flows.
    assert_eq!(
        decide(
            Some(&terminating(virtual_pod("u1"), 7)),
            Some(&terminating(host_pod("u1"), 7))
        ),
        PodAction::Update { status_only: true }
    );
    // A shorter virtual grace shortens the host's.
    assert_eq!(
        decide(
            Some(&terminating(virtual_pod("u1"), 1)),
            Some(&terminating(host_pod("u1"), 30))
        ),
        PodAction::DeleteHost { grace: Some(1) }
    );
}

#[test]
fn host_deletion_deletes_the_virtual_pod_with_the_host_grace() {
    assert_eq!(
        decide(
            Some(&virtual_pod("u1")),
            Some(&terminating(host_pod("u1"), 12))
        ),
        PodAction::DeleteVirtual { grace: 12 }
    );
}

#[test]
fn host_pods_of_an_earlier_incarnation_go_first() {
    assert_eq!(
        decide(Some(&virtual_pod("u2")), Some(&host_pod("u1"))),
        PodAction::DeleteHost { grace: Some(0) }
    );
    assert_eq!(
        decide(
            Some(&virtual_pod("u2")),
            Some(&terminating(host_pod("u1"), 0))
        ),
        PodAction::Nothing
    );
    assert_eq!(
        decide(Some(&virtual_pod("u1")), Some(&host_pod("u1"))),
        PodAction::Update { status_only: false }
    );
}

fn jwt(claims: serde_json::Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        engine.encode(br#"{"alg":"RS256"}"#),
        engine.encode(claims.to_string())
    )
}

#[test]
fn tokens_are_renewed_before_they_run_out() {
    let token = jwt(json!({"exp": 10_000, "iat": 6_400}));
    assert_eq!(token_expiry(&token), Some(10_000));
    // 3600 s lifetime: renew 720 s before expiry.
    assert_eq!(token_renew_at(&token, 3600, 9_000), Some(9_280));
    assert_eq!(token_renew_at(&token, 3600, 9_280), None);
    assert_eq!(token_renew_at("not-a-jwt", 3600, 0), None);
}

#[test]
fn map_patches_remove_and_set() {
    let from = BTreeMap::from([
        ("keep".to_owned(), "1".to_owned()),
        ("change".to_owned(), "a".to_owned()),
        ("drop".to_owned(), "x".to_owned()),
    ]);
    let to = BTreeMap::from([
        ("keep".to_owned(), "1".to_owned()),
        ("change".to_owned(), "b".to_owned()),
        ("new".to_owned(), "n".to_owned()),
    ]);
    assert_eq!(
        map_patch(Some(&from), &to),
        json!({"change": "b", "drop": null, "new": "n"})
    );
}
