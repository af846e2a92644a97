//! A kube-rs 5 operator, written the way the kube-rs documentation teaches, runs against warren
//! unmodified: a `#[derive(CustomResource)]` type whose generated CRD is server-side applied,
//! a `kube::runtime::Controller` that owns ConfigMaps (ownerReferences) and writes the custom
//! resource's status subresource, finalizers through `kube::runtime::finalizer`, and warren's
//! garbage collector removing the owned ConfigMap when the custom resource goes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::watcher;
use kube::{Api, Client, CustomResource, CustomResourceExt, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use warren_e2e::Warren;

const FINALIZER: &str = "widgets.warren.test/cleanup";
const STEP: Duration = Duration::from_secs(30);

/// A widget asks for a ConfigMap holding `greeting` `replicas` times.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "warren.test",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wg",
    printcolumn = r#"{"name":"Greeting","type":"string","jsonPath":".spec.greeting"}"#
)]
pub struct WidgetSpec {
    pub greeting: String,
    #[schemars(range(min = 1, max = 10))]
    pub replicas: i32,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
pub struct WidgetStatus {
    pub config_map: String,
    pub observed_generation: i64,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(String),
}

struct Ctx {
    client: Client,
    cleaned: std::sync::Mutex<Vec<String>>,
}

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let ns = w.namespace().unwrap_or_default();
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, w, |event| async {
        match event {
            Finalizer::Apply(w) => apply(&w, &ctx).await,
            Finalizer::Cleanup(w) => {
                ctx.cleaned.lock().expect("lock").push(w.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => ReconcileError::Finalizer(other.to_string()),
    })
}

async fn apply(w: &Widget, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let ns = w.namespace().unwrap_or_default();
    let name = format!("{}-greeting", w.name_any());
    let owner = w.controller_owner_ref(&()).expect("owner ref");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "text".to_string(),
            vec![w.spec.greeting.as_str(); w.spec.replicas as usize].join(" "),
        )])),
        ..ConfigMap::default()
    };
    let pp = PatchParams::apply("widget-operator").force();
    Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
        .patch(&name, &pp, &Patch::Apply(&cm))
        .await?;
    let status = json!({
        "apiVersion": "warren.test/v1",
        "kind": "Widget",
        "status": WidgetStatus {
            config_map: name,
            observed_generation: w.metadata.generation.unwrap_or_default(),
        },
    });
    Api::<Widget>::namespaced(ctx.client.clone(), &ns)
        .patch_status(&w.name_any(), &pp, &Patch::Apply(&status))
        .await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn error_policy(w: Arc<Widget>, e: &ReconcileError, _ctx: Arc<Ctx>) -> Action {
    eprintln!("reconcile {}: {e}", w.name_any());
    Action::requeue(Duration::from_millis(200))
}

async fn client(w: &Warren) -> Client {
    let kc = Kubeconfig::read_from(&w.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    Client::try_from(config).expect("kube client")
}

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derive_custom_resource_controller_runs_unmodified() {
    let w = Warren::start();
    let client = client(&w).await;

    // The CRD kube-rs generates from the Rust type, applied as operators do.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "widgets.warren.test",
        &PatchParams::apply("widget-operator").force(),
        &Patch::Apply(Widget::crd()),
    )
    .await
    .expect("apply generated CRD");
    tokio::time::timeout(
        STEP,
        await_condition(
            crds,
            "widgets.warren.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("CRD established in time")
    .expect("await established");

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cleaned: std::sync::Mutex::new(Vec::new()),
    });
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let controller = Controller::new(widgets.clone(), watcher::Config::default())
        .owns(cms.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|r| async move {
            if let Err(e) = r {
                eprintln!("controller: {e}");
            }
        });
    let controller = tokio::spawn(controller);

    // The schema kube-rs derived is enforced: replicas is bounded.
    let bad = Widget::new(
        "bad",
        WidgetSpec {
            greeting: "x".into(),
            replicas: 11,
        },
    );
    let err = widgets
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("replicas above maximum");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(s.message.contains("spec.replicas"), "{}", s.message);
        }
        other => panic!("expected a 422 Status, got {other}"),
    }

    for (name, greeting, replicas) in [("a", "hi", 1), ("b", "hello", 2), ("c", "hey", 3)] {
        widgets
            .create(
                &PostParams::default(),
                &Widget::new(
                    name,
                    WidgetSpec {
                        greeting: greeting.into(),
                        replicas,
                    },
                ),
            )
            .await
            .expect("create widget");
    }
    for (name, text) in [("a", "hi"), ("b", "hello hello"), ("c", "hey hey hey")] {
        let cm_name = format!("{name}-greeting");
        eventually(&format!("configmap of {name}"), || {
            let cms = cms.clone();
            let cm_name = cm_name.clone();
            async move {
                let cm = cms.get_opt(&cm_name).await.ok()??;
                (cm.data?.get("text")? == text).then_some(())
            }
        })
        .await;
        let widget = eventually(&format!("status of {name}"), || {
            let widgets = widgets.clone();
            async move {
                let w = widgets.get(name).await.ok()?;
                w.status.as_ref()?;
                Some(w)
            }
        })
        .await;
        let status = widget.status.clone().expect("status");
        assert_eq!(status.config_map, cm_name);
        assert_eq!(status.observed_generation, 1);
        assert_eq!(widget.finalizers(), [FINALIZER.to_string()]);
        let cm = cms.get(&cm_name).await.expect("cm");
        let owner = &cm.owner_references()[0];
        assert_eq!(owner.kind, "Widget");
        assert_eq!(owner.uid, widget.uid().expect("uid"));
        assert_eq!(owner.controller, Some(true));
    }

    // A spec change bumps the generation and is reconciled; the ConfigMap follows.
    widgets
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"greeting": "bye"}})),
        )
        .await
        .expect("patch spec");
    eventually("updated configmap and status", || {
        let (cms, widgets) = (cms.clone(), widgets.clone());
        async move {
            let cm = cms.get("b-greeting").await.ok()?;
            let w = widgets.get("b").await.ok()?;
            (cm.data?.get("text")? == "bye bye" && w.status?.observed_generation == 2).then_some(())
        }
    })
    .await;

    // Someone deletes the owned ConfigMap: the controller (owns) puts it back.
    cms.delete("a-greeting", &Default::default())
        .await
        .expect("delete owned cm");
    eventually("re-created configmap", || {
        let cms = cms.clone();
        async move { cms.get_opt("a-greeting").await.ok()?.map(|_| ()) }
    })
    .await;

    // Deleting a widget runs the finalizer's cleanup, then the GC removes the ConfigMap.
    widgets
        .delete("c", &Default::default())
        .await
        .expect("delete widget");
    eventually("widget gone after cleanup", || {
        let widgets = widgets.clone();
        async move { widgets.get_opt("c").await.ok()?.is_none().then_some(()) }
    })
    .await;
    assert_eq!(*ctx.cleaned.lock().expect("lock"), ["c".to_string()]);
    eventually("owned configmap collected", || {
        let cms = cms.clone();
        async move {
            cms.get_opt("c-greeting")
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    controller.abort();
}
