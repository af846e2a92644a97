use super::*;
use crate::names::NamespaceMode;
use serde_json::json;

fn names() -> Names {
    Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Single)
}

fn options() -> PodOptions {
    PodOptions::new(&SyncerConfig::default(), "my-vcluster")
}

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// A StatefulSet pod as the virtual API server stores it (defaults and the kube-api-access
/// volume added by admission).
fn statefulset_pod() -> Pod {
    from(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "namespace": "shop",
            "uid": "pod-uid-1",
            "resourceVersion": "812",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "generateName": "web-",
            "labels": {
                "app": "web",
                "release": "r1",
                "statefulset.kubernetes.io/pod-name": "web-0"
            },
            "annotations": {
                "prometheus.io/scrape": "true",
                "vcluster.loft.sh/name": "spoofed"
            },
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "name": "web",
                "uid": "sts-uid",
                "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "hostname": "web-0",
            "subdomain": "nginx",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "priority": 0,
            "imagePullSecrets": [{"name": "regcred"}],
            "containers": [{
                "name": "nginx",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "name": "web", "protocol": "TCP"}],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['release']"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                    {"name": "WEB_SERVICE_HOST", "value": "overridden"}
                ],
                "envFrom": [{"configMapRef": {"name": "common"}}, {"secretRef": {"name": "tokens"}}],
                "volumeMounts": [
                    {"name": "www", "mountPath": "/usr/share/nginx/html"},
                    {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
                ]
            }],
            "volumes": [
                {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}},
                {"name": "config", "configMap": {"name": "settings"}},
                {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 420}},
                {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}
            ],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
            ]}}
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    }))
}

fn services() -> Vec<Service> {
    from(json!([
        {"metadata": {"name": "nginx", "namespace": "shop"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}},
        {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "10.96.0.20", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "metrics", "port": 9113, "protocol": "TCP"}
        ]}}
    ]))
}

fn inputs<'a>(
    services: &'a [Service],
    namespace_labels: &'a BTreeMap<String, String>,
    tokens: &'a BTreeMap<String, String>,
    owner: Option<&'a OwnerReference>,
) -> PodInputs<'a> {
    PodInputs {
        kube_ip: "10.96.0.1",
        dns_ip: "10.96.0.10",
        services,
        namespace_labels,
        tokens,
        owner,
    }
}

#[test]
fn token_sources_for_projected_volumes() {
    let sources = service_account_tokens(&options(), &statefulset_pod());
    assert_eq!(
        sources,
        vec![TokenSource {
            annotation: "vcluster.loft.sh/token-".to_owned()
                + &sha256_hex("kube-api-access-abcde/0")[..8],
            volume: "kube-api-access-abcde".into(),
            service_account: "default".into(),
            audiences: vec![
                "https://kubernetes.default.svc.cluster.local".into(),
                "https://kubernetes.default.svc".into(),
                "https://kubernetes.default".into(),
            ],
            expiration_seconds: 3607,
        }]
    );
}

#[test]
fn golden_statefulset_pod() {
    let pod = statefulset_pod();
    let services = services();
    let namespace_labels = BTreeMap::from([
        ("kubernetes.io/metadata.name".to_owned(), "shop".to_owned()),
        ("team".to_owned(), "a".to_owned()),
    ]);
    let token_annotation = token_annotation("kube-api-access-abcde", 0);
    let tokens = BTreeMap::from([(token_annotation.clone(), "virtual-token".to_owned())]);
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: "my-vcluster".into(),
        uid: "vc-svc-uid".into(),
        ..Default::default()
    };
    let mut options = options();
    options
        .translate_image
        .insert("nginx:1.27".into(), "mirror.local/nginx:1.27".into());
    let host = host_pod(
        &names(),
        &options,
        &inputs(&services, &namespace_labels, &tokens, Some(&owner)),
        &pod,
    )
    .unwrap();
    let actual = serde_json::to_value(&host).unwrap();
    let expected: serde_json::Value = serde_json::from_str(GOLDEN_STATEFULSET_HOST_POD).unwrap();
    assert_eq!(
        actual,
        expected,
        "actual:\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
}

/// The expected host pod of [`statefulset_pod`], reviewed field by field: names
/// `<name>-x-shop-x-my-vcluster`, `release` label rewritten, namespace labels copied, syncer
/// annotations from the virtual pod (the spoofed `vcluster.loft.sh/name` is not copied),
/// workload service account without token or service links, virtual DNS, kubernetes
/// hostAliases, service env (the headless `nginx` gives none; `WEB_SERVICE_HOST` is the pod's
/// own), downward API reading annotations, references renamed, the token through an
/// annotation, subdomain naming the host Service, /etc/hosts rewritten to the virtual FQDN,
/// priority dropped (no priority class sync), anti-affinity scoped to the namespace.
const GOLDEN_STATEFULSET_HOST_POD: &str = r#"
{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "annotations": {
      "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
      "prometheus.io/scrape": "true",
      "vcluster.loft.sh/hosts-rewritten": "true",
      "vcluster.loft.sh/labels": "app=\"web\"\nrelease=\"r1\"\nstatefulset.kubernetes.io/pod-name=\"web-0\"",
      "vcluster.loft.sh/managed-annotations": "prometheus.io/scrape",
      "vcluster.loft.sh/name": "web-0",
      "vcluster.loft.sh/namespace": "shop",
      "vcluster.loft.sh/object-host-name": "web-0-x-shop-x-my-vcluster",
      "vcluster.loft.sh/object-host-namespace": "vcluster-ns",
      "vcluster.loft.sh/object-kind": "/v1, Kind=Pod",
      "vcluster.loft.sh/object-name": "web-0",
      "vcluster.loft.sh/object-namespace": "shop",
      "vcluster.loft.sh/object-uid": "pod-uid-1",
      "vcluster.loft.sh/owner-references": "[{\"apiVersion\":\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":\"StatefulSet\",\"name\":\"web\",\"uid\":\"sts-uid\"}]",
      "vcluster.loft.sh/owner-set-kind": "StatefulSet",
      "vcluster.loft.sh/service-account-name": "default",
      "vcluster.loft.sh/token-ca7698a6": "virtual-token",
      "vcluster.loft.sh/uid": "pod-uid-1"
    },
    "labels": {
      "app": "web",
      "statefulset.kubernetes.io/pod-name": "web-0",
      "vcluster.loft.sh/label-my-vcluster-x-a4d451ec23": "r1",
      "vcluster.loft.sh/managed-by": "my-vcluster",
      "vcluster.loft.sh/namespace": "shop",
      "vcluster.loft.sh/ns-label-my-vcluster-x-ca8b22d0db": "a",
      "vcluster.loft.sh/ns-label-my-vcluster-x-cf1227b7b2": "shop"
    },
    "name": "web-0-x-shop-x-my-vcluster",
    "namespace": "vcluster-ns",
    "ownerReferences": [
      {
        "apiVersion": "v1",
        "controller": true,
        "kind": "Service",
        "name": "my-vcluster",
        "uid": "vc-svc-uid"
      }
    ]
  },
  "spec": {
    "affinity": {
      "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
          {
            "labelSelector": {
              "matchLabels": {
                "app": "web",
                "vcluster.loft.sh/managed-by": "my-vcluster",
                "vcluster.loft.sh/namespace": "shop"
              }
            },
            "topologyKey": "kubernetes.io/hostname"
          }
        ]
      }
    },
    "automountServiceAccountToken": false,
    "containers": [
      {
        "env": [
          {
            "name": "KUBERNETES_PORT",
            "value": "tcp://10.96.0.1:443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP",
            "value": "tcp://10.96.0.1:443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_ADDR",
            "value": "10.96.0.1"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_PORT",
            "value": "443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "KUBERNETES_SERVICE_HOST",
            "value": "10.96.0.1"
          },
          {
            "name": "KUBERNETES_SERVICE_PORT",
            "value": "443"
          },
          {
            "name": "KUBERNETES_SERVICE_PORT_HTTPS",
            "value": "443"
          },
          {
            "name": "WEB_PORT",
            "value": "tcp://10.96.0.20:80"
          },
          {
            "name": "WEB_PORT_80_TCP",
            "value": "tcp://10.96.0.20:80"
          },
          {
            "name": "WEB_PORT_80_TCP_ADDR",
            "value": "10.96.0.20"
          },
          {
            "name": "WEB_PORT_80_TCP_PORT",
            "value": "80"
          },
          {
            "name": "WEB_PORT_80_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "WEB_PORT_9113_TCP",
            "value": "tcp://10.96.0.20:9113"
          },
          {
            "name": "WEB_PORT_9113_TCP_ADDR",
            "value": "10.96.0.20"
          },
          {
            "name": "WEB_PORT_9113_TCP_PORT",
            "value": "9113"
          },
          {
            "name": "WEB_PORT_9113_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "WEB_SERVICE_PORT",
            "value": "80"
          },
          {
            "name": "WEB_SERVICE_PORT_HTTP",
            "value": "80"
          },
          {
            "name": "WEB_SERVICE_PORT_METRICS",
            "value": "9113"
          },
          {
            "name": "POD_NAME",
            "valueFrom": {
              "fieldRef": {
                "apiVersion": "v1",
                "fieldPath": "metadata.annotations['vcluster.loft.sh/name']"
              }
            }
          },
          {
            "name": "APP",
            "valueFrom": {
              "fieldRef": {
                "fieldPath": "metadata.labels['vcluster.loft.sh/label-my-vcluster-x-a4d451ec23']"
              }
            }
          },
          {
            "name": "MODE",
            "valueFrom": {
              "configMapKeyRef": {
                "key": "mode",
                "name": "settings-x-shop-x-my-vcluster"
              }
            }
          },
          {
            "name": "PASSWORD",
            "valueFrom": {
              "secretKeyRef": {
                "key": "password",
                "name": "db-x-shop-x-my-vcluster"
              }
            }
          },
          {
            "name": "WEB_SERVICE_HOST",
            "value": "overridden"
          }
        ],
        "envFrom": [
          {
            "configMapRef": {
              "name": "common-x-shop-x-my-vcluster"
            }
          },
          {
            "secretRef": {
              "name": "tokens-x-shop-x-my-vcluster"
            }
          }
        ],
        "image": "mirror.local/nginx:1.27",
        "name": "nginx",
        "ports": [
          {
            "containerPort": 80,
            "name": "web",
            "protocol": "TCP"
          }
        ],
        "volumeMounts": [
          {
            "mountPath": "/usr/share/nginx/html",
            "name": "www"
          },
          {
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "name": "kube-api-access-abcde",
            "readOnly": true
          },
          {
            "mountPath": "/etc/hosts",
            "name": "vcluster-rewrite-hosts",
            "subPath": "hosts"
          }
        ]
      }
    ],
    "dnsConfig": {
      "nameservers": [
        "10.96.0.10"
      ],
      "options": [
        {
          "name": "ndots",
          "value": "5"
        }
      ],
      "searches": [
        "shop.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local"
      ]
    },
    "dnsPolicy": "None",
    "enableServiceLinks": false,
    "hostAliases": [
      {
        "hostnames": [
          "kubernetes.default.svc.cluster.local",
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc"
        ],
        "ip": "10.96.0.1"
      }
    ],
    "hostname": "web-0",
    "imagePullSecrets": [
      {
        "name": "regcred-x-shop-x-my-vcluster"
      }
    ],
    "initContainers": [
      {
        "args": [
          "-c",
          "sed -E 's/^([^#[:space:]]+)[[:space:]].*[[:space:]]web-0$/\\1 web-0.nginx.shop.svc.cluster.local web-0/' /etc/hosts > /hosts/hosts"
        ],
        "command": [
          "sh"
        ],
        "image": "mirror.gcr.io/library/alpine:3.20",
        "name": "vcluster-rewrite-hosts",
        "resources": {
          "limits": {
            "cpu": "30m",
            "memory": "64Mi"
          },
          "requests": {
            "cpu": "30m",
            "memory": "64Mi"
          }
        },
        "securityContext": {
          "allowPrivilegeEscalation": false,
          "capabilities": {
            "drop": [
              "ALL"
            ]
          },
          "runAsGroup": 12345,
          "runAsNonRoot": true,
          "runAsUser": 12345,
          "seccompProfile": {
            "type": "RuntimeDefault"
          }
        },
        "volumeMounts": [
          {
            "mountPath": "/hosts",
            "name": "vcluster-rewrite-hosts"
          }
        ]
      }
    ],
    "restartPolicy": "Always",
    "serviceAccountName": "vc-workload-my-vcluster",
    "subdomain": "nginx-x-shop-x-my-vcluster",
    "tolerations": [
      {
        "effect": "NoExecute",
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "tolerationSeconds": 300
      }
    ],
    "volumes": [
      {
        "name": "www",
        "persistentVolumeClaim": {
          "claimName": "www-web-0-x-shop-x-my-vcluster"
        }
      },
      {
        "configMap": {
          "name": "settings-x-shop-x-my-vcluster"
        },
        "name": "config"
      },
      {
        "name": "certs",
        "secret": {
          "defaultMode": 420,
          "secretName": "tls-x-shop-x-my-vcluster"
        }
      },
      {
        "name": "kube-api-access-abcde",
        "projected": {
          "defaultMode": 420,
          "sources": [
            {
              "downwardAPI": {
                "items": [
                  {
                    "fieldRef": {
                      "apiVersion": "v1",
                      "fieldPath": "metadata.annotations['vcluster.loft.sh/token-ca7698a6']"
                    },
                    "mode": 420,
                    "path": "token"
                  }
                ]
              }
            },
            {
              "configMap": {
                "items": [
                  {
                    "key": "ca.crt",
                    "path": "ca.crt"
                  }
                ],
                "name": "kube-root-ca.crt-x-shop-x-my-vcluster"
              }
            },
            {
              "downwardAPI": {
                "items": [
                  {
                    "fieldRef": {
                      "apiVersion": "v1",
                      "fieldPath": "metadata.annotations['vcluster.loft.sh/namespace']"
                    },
                    "path": "namespace"
                  }
                ]
              }
            }
          ]
        }
      },
      {
        "emptyDir": {},
        "name": "vcluster-rewrite-hosts"
      }
    ]
  }
}
"#;
