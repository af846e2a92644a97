//! Raw vcluster.yaml -> [`SyncerConfig`]: legacy keys folded onto current ones, defaults
//! applied, unsupported settings rejected.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde::Serialize;
use serde_json::Value;

use super::raw::*;
use super::*;

pub(super) fn resolve(raw: RawConfig) -> Result<Loaded, ConfigError> {
    let mut resolver = Resolver::default();
    let config = resolver.config(raw)?;
    Ok(Loaded {
        config,
        warnings: resolver.warnings,
    })
}

#[derive(Default)]
struct Resolver {
    warnings: Vec<ConfigWarning>,
}

fn show<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn unsupported(keys: &[&str], reason: &str) -> ConfigError {
    ConfigError::Unsupported {
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        reason: reason.to_owned(),
    }
}

/// Whether an opaque section turns something on: `true`, or `enabled: true` at its top.
fn turns_on(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Object(map) => {
            matches!(map.get("enabled"), Some(Value::Bool(true)))
                || matches!(map.get("enabled"), Some(Value::String(s)) if s == "true")
        }
        _ => false,
    }
}

/// Whether an opaque section holds anything at all.
fn non_empty(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

const PATCHES_UNSUPPORTED: &str =
    "translate patches are a vCluster Pro feature warren does not implement";

impl Resolver {
    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn ignored(&mut self, key: &str, value: &Option<Value>) {
        if value.is_some() {
            self.warn(
                key,
                "ignored: a vCluster deployment setting warren has no use for",
            );
        }
    }

    /// Error when an opaque switch of a feature warren lacks is turned on.
    fn must_stay_off(
        &self,
        key: &str,
        value: &Option<Value>,
        reason: &str,
    ) -> Result<(), ConfigError> {
        match value {
            Some(value) if turns_on(value) => Err(unsupported(&[key], reason)),
            _ => Ok(()),
        }
    }

    fn no_patches(&self, key: &str, patches: &Option<Value>) -> Result<(), ConfigError> {
        match patches {
            Some(value) if non_empty(value) => Err(unsupported(
                &[&format!("{key}.patches")],
                PATCHES_UNSUPPORTED,
            )),
            _ => Ok(()),
        }
    }

    /// One setting that has a legacy and a current key: the current wins when both agree,
    /// disagreement is an error, the legacy key alone is used with a warning.
    fn merge<T: PartialEq + Serialize>(
        &mut self,
        current_key: &str,
        current: Option<T>,
        legacy_key: &str,
        legacy: Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match (current, legacy) {
            (current, None) => Ok(current),
            (Some(current), Some(legacy)) if current != legacy => Err(ConfigError::Conflict {
                legacy: legacy_key.to_owned(),
                legacy_value: show(&legacy),
                current: current_key.to_owned(),
                current_value: show(&current),
            }),
            (current, Some(legacy)) => {
                self.warn(legacy_key, format!("deprecated, use {current_key}"));
                Ok(Some(current.unwrap_or(legacy)))
            }
        }
    }

    fn config(&mut self, raw: RawConfig) -> Result<SyncerConfig, ConfigError> {
        self.top_level_extras(&raw)?;
        let RawConfig {
            sync,
            networking,
            control_plane,
            experimental,
            map_services,
            coredns,
            multi_namespace_mode,
            fallback_host_dns,
            ..
        } = raw;

        let control_plane = control_plane.unwrap_or_default();
        let (dns_enabled, workload_service_account) = self.control_plane(control_plane, coredns)?;

        let experimental = experimental.unwrap_or_default();
        self.ignored("experimental.deploy", &experimental.deploy);
        self.ignored("experimental.syncSettings", &experimental.sync_settings);
        self.ignored(
            "experimental.virtualClusterKubeConfig",
            &experimental.virtual_cluster_kube_config,
        );
        self.ignored("experimental.proxy", &experimental.proxy);
        self.ignored("experimental.docker", &experimental.docker);
        self.ignored("experimental.nodeMonitors", &experimental.node_monitors);
        if experimental
            .deny_proxy_requests
            .as_ref()
            .is_some_and(non_empty)
        {
            return Err(unsupported(
                &["experimental.denyProxyRequests"],
                "a vCluster Pro feature warren does not implement; use RBAC in the virtual cluster",
            ));
        }
        let mnm = experimental.multi_namespace_mode.unwrap_or_default();
        let multi_namespace_mode = self
            .merge(
                "experimental.multiNamespaceMode.enabled",
                mnm.enabled,
                "multiNamespaceMode.enabled",
                multi_namespace_mode.and_then(|s| s.enabled),
            )?
            .unwrap_or(false);

        let sync = self.sync(sync.unwrap_or_default())?;
        let networking = self.networking(
            networking.unwrap_or_default(),
            map_services,
            fallback_host_dns,
        )?;

        let config = SyncerConfig {
            sync,
            networking,
            dns_enabled,
            workload_service_account,
            multi_namespace_mode,
            host_namespace_labels: mnm.namespace_labels.unwrap_or_default(),
        };
        validate_combinations(&config)?;
        Ok(config)
    }

    fn top_level_extras(&mut self, raw: &RawConfig) -> Result<(), ConfigError> {
        for (key, value) in [
            ("global", &raw.global),
            ("exportKubeConfig", &raw.export_kube_config),
            ("integrations", &raw.integrations),
            ("deploy", &raw.deploy),
            ("policies", &raw.policies),
            ("rbac", &raw.rbac),
            ("plugins", &raw.plugins),
            ("plugin", &raw.plugin),
            ("telemetry", &raw.telemetry),
            ("logging", &raw.logging),
            ("serviceCIDR", &raw.service_cidr),
            ("pro", &raw.pro),
        ] {
            self.ignored(key, value);
        }
        self.must_stay_off(
            "privateNodes.enabled",
            &raw.private_nodes,
            "private nodes are not supported by warren; pods run on the host cluster's nodes",
        )?;
        for (key, value, reason) in [
            (
                "sleep",
                &raw.sleep,
                "configure sleep mode on the warren platform instead",
            ),
            (
                "snapshots",
                &raw.snapshots,
                "a vCluster Pro feature warren does not implement",
            ),
            (
                "deletion",
                &raw.deletion,
                "a vCluster Pro feature warren does not implement",
            ),
            (
                "platform",
                &raw.platform,
                "vCluster Platform connection settings do not apply to warren",
            ),
        ] {
            if value.as_ref().is_some_and(non_empty) {
                return Err(unsupported(&[key], reason));
            }
        }
        Ok(())
    }

    fn control_plane(
        &mut self,
        cp: RawControlPlane,
        legacy: Option<LegacyCoreDns>,
    ) -> Result<(bool, Option<String>), ConfigError> {
        for (key, value) in [
            ("controlPlane.endpoint", &cp.endpoint),
            ("controlPlane.distro", &cp.distro),
            ("controlPlane.backingStore", &cp.backing_store),
            ("controlPlane.standalone", &cp.standalone),
            ("controlPlane.proxy", &cp.proxy),
            ("controlPlane.hostPathMapper", &cp.host_path_mapper),
            ("controlPlane.ingress", &cp.ingress),
            ("controlPlane.tlsRoute", &cp.tls_route),
            ("controlPlane.service", &cp.service),
            ("controlPlane.statefulSet", &cp.stateful_set),
            ("controlPlane.serviceMonitor", &cp.service_monitor),
        ] {
            self.ignored(key, value);
        }
        let coredns = cp.coredns.unwrap_or_default();
        for (key, value) in [
            ("controlPlane.coredns.deployment", &coredns.deployment),
            ("controlPlane.coredns.service", &coredns.service),
            ("controlPlane.coredns.security", &coredns.security),
            (
                "controlPlane.coredns.priorityClassName",
                &coredns.priority_class_name,
            ),
        ] {
            self.ignored(key, value);
        }
        for (key, value) in [
            (
                "controlPlane.coredns.overwriteConfig",
                &coredns.overwrite_config,
            ),
            (
                "controlPlane.coredns.overwriteManifests",
                &coredns.overwrite_manifests,
            ),
        ] {
            if value.as_ref().is_some_and(non_empty) {
                return Err(unsupported(
                    &[key],
                    "warren's embedded DNS is not CoreDNS and takes no Corefile or manifests",
                ));
            }
        }
        let legacy = legacy.unwrap_or_default();
        let dns_enabled = self
            .merge(
                "controlPlane.coredns.enabled",
                coredns.enabled,
                "coredns.enabled",
                legacy.enabled,
            )?
            .unwrap_or(true);
        // DNS always runs in the syncer process in warren, so "embedded" changes nothing;
        // still fold the legacy key so both generations are checked for agreement.
        self.merge(
            "controlPlane.coredns.embedded",
            coredns.embedded,
            "coredns.integrated",
            legacy.integrated,
        )?;

        let advanced = cp.advanced.unwrap_or_default();
        for (key, value) in [
            (
                "controlPlane.advanced.defaultImageRegistry",
                &advanced.default_image_registry,
            ),
            (
                "controlPlane.advanced.serviceAccount",
                &advanced.service_account,
            ),
            (
                "controlPlane.advanced.headlessService",
                &advanced.headless_service,
            ),
            ("controlPlane.advanced.konnectivity", &advanced.konnectivity),
            ("controlPlane.advanced.registry", &advanced.registry),
            (
                "controlPlane.advanced.cloudControllerManager",
                &advanced.cloud_controller_manager,
            ),
            (
                "controlPlane.advanced.globalMetadata",
                &advanced.global_metadata,
            ),
            ("controlPlane.advanced.kubeVip", &advanced.kube_vip),
            (
                "controlPlane.advanced.podDisruptionBudget",
                &advanced.pod_disruption_budget,
            ),
        ] {
            self.ignored(key, value);
        }
        self.must_stay_off(
            "controlPlane.advanced.virtualScheduler.enabled",
            &advanced.virtual_scheduler,
            "warren runs no virtual scheduler; the host cluster schedules synced pods",
        )?;
        let workload = advanced
            .workload_service_account
            .and_then(|sa| sa.name)
            .filter(|name| !name.is_empty());
        Ok((dns_enabled, workload))
    }

    fn switch(
        &mut self,
        key: &str,
        current: Option<RawSwitch>,
        legacy_key: &str,
        legacy: Option<LegacySwitch>,
        default: bool,
    ) -> Result<bool, ConfigError> {
        let current = current.unwrap_or_default();
        self.no_patches(key, &current.patches)?;
        let enabled_key = format!("{key}.enabled");
        let legacy_enabled_key = format!("{legacy_key}.enabled");
        Ok(self
            .merge(
                &enabled_key,
                current.enabled,
                &legacy_enabled_key,
                legacy.and_then(|l| l.enabled),
            )?
            .unwrap_or(default))
    }

    fn sync_all(
        &mut self,
        key: &str,
        current: Option<RawSyncAll>,
        legacy_key: &str,
        legacy: Option<LegacySyncAll>,
    ) -> Result<SyncAll, ConfigError> {
        let current = current.unwrap_or_default();
        self.no_patches(key, &current.patches)?;
        let legacy = legacy.unwrap_or_default();
        let enabled = self.merge(
            &format!("{key}.enabled"),
            current.enabled,
            &format!("{legacy_key}.enabled"),
            legacy.enabled,
        )?;
        let all = self.merge(
            &format!("{key}.all"),
            current.all,
            &format!("{legacy_key}.all"),
            legacy.all,
        )?;
        Ok(SyncAll {
            enabled: enabled.unwrap_or(true),
            all: all.unwrap_or(false),
        })
    }

    fn sync(&mut self, sync: RawSync) -> Result<Sync, ConfigError> {
        if sync.generic.as_ref().is_some_and(non_empty) {
            return Err(unsupported(
                &["sync.generic"],
                "legacy generic sync is not supported; use sync.toHost.customResources",
            ));
        }
        let to_host_raw = sync.to_host.unwrap_or_default();
        let from_host_raw = sync.from_host.unwrap_or_default();

        for (key, value) in [
            (
                "sync.toHost.resourceClaims.enabled",
                &to_host_raw.resource_claims,
            ),
            (
                "sync.toHost.resourceClaimTemplates.enabled",
                &to_host_raw.resource_claim_templates,
            ),
            ("sync.toHost.gatewayApi.enabled", &to_host_raw.gateway_api),
            (
                "sync.toHost.volumeSnapshots.enabled",
                &to_host_raw.volume_snapshots,
            ),
            (
                "sync.toHost.volumeSnapshotContents.enabled",
                &to_host_raw.volume_snapshot_contents,
            ),
            (
                "sync.fromHost.gatewayClasses.enabled",
                &from_host_raw.gateway_classes,
            ),
            ("sync.fromHost.gateways.enabled", &from_host_raw.gateways),
            (
                "sync.fromHost.deviceClasses.enabled",
                &from_host_raw.device_classes,
            ),
            (
                "sync.fromHost.volumeSnapshotClasses.enabled",
                &from_host_raw.volume_snapshot_classes,
            ),
        ] {
            self.must_stay_off(key, value, "not supported by warren")?;
        }
        self.must_stay_off(
            "sync.toHost.namespaces.enabled",
            &to_host_raw.namespaces,
            "vCluster Pro namespace sync is not supported; use experimental.multiNamespaceMode.enabled for one host namespace per virtual namespace",
        )?;

        let pods = self.pods(to_host_raw.pods, sync.pods)?;
        let ingresses = self.switch(
            "sync.toHost.ingresses",
            to_host_raw.ingresses,
            "sync.ingresses",
            sync.ingresses,
            false,
        )?;
        let to_host = ToHost {
            pods,
            services: self.switch(
                "sync.toHost.services",
                to_host_raw.services,
                "sync.services",
                sync.services,
                true,
            )?,
            endpoints: self.switch(
                "sync.toHost.endpoints",
                to_host_raw.endpoints,
                "sync.endpoints",
                sync.endpoints,
                true,
            )?,
            endpoint_slices: self.switch(
                "sync.toHost.endpointSlices",
                to_host_raw.endpoint_slices,
                "",
                None,
                true,
            )?,
            persistent_volume_claims: self.switch(
                "sync.toHost.persistentVolumeClaims",
                to_host_raw.persistent_volume_claims,
                "sync.persistentvolumeclaims",
                sync.persistentvolumeclaims,
                true,
            )?,
            config_maps: self.sync_all(
                "sync.toHost.configMaps",
                to_host_raw.config_maps,
                "sync.configmaps",
                sync.configmaps,
            )?,
            secrets: self.sync_all(
                "sync.toHost.secrets",
                to_host_raw.secrets,
                "sync.secrets",
                sync.secrets,
            )?,
            ingresses,
            network_policies: self.switch(
                "sync.toHost.networkPolicies",
                to_host_raw.network_policies,
                "sync.networkpolicies",
                sync.networkpolicies,
                false,
            )?,
            service_accounts: self.switch(
                "sync.toHost.serviceAccounts",
                to_host_raw.service_accounts,
                "sync.serviceaccounts",
                sync.serviceaccounts,
                false,
            )?,
            pod_disruption_budgets: self.switch(
                "sync.toHost.podDisruptionBudgets",
                to_host_raw.pod_disruption_budgets,
                "sync.poddisruptionbudgets",
                sync.poddisruptionbudgets,
                false,
            )?,
            priority_classes: self.switch(
                "sync.toHost.priorityClasses",
                to_host_raw.priority_classes,
                "sync.priorityclasses",
                sync.priorityclasses,
                false,
            )?,
            storage_classes: self.switch(
                "sync.toHost.storageClasses",
                to_host_raw.storage_classes,
                "sync.storageclasses",
                sync.storageclasses,
                false,
            )?,
            persistent_volumes: self.switch(
                "sync.toHost.persistentVolumes",
                to_host_raw.persistent_volumes,
                "sync.persistentvolumes",
                sync.persistentvolumes,
                false,
            )?,
            custom_resources: self.custom_resources(
                "sync.toHost.customResources",
                to_host_raw.custom_resources,
                true,
            )?,
        };

        let from_host = self.sync_from_host(
            from_host_raw,
            &sync_legacy_from_host(
                sync.events,
                sync.ingressclasses,
                sync.nodes,
                sync.fake_nodes,
                sync.hoststorageclasses,
                sync.csinodes,
                sync.csidrivers,
                sync.csistoragecapacities,
            ),
            ingresses,
        )?;
        Ok(Sync { to_host, from_host })
    }

    fn pods(
        &mut self,
        raw: Option<RawPods>,
        legacy: Option<LegacyPods>,
    ) -> Result<PodSync, ConfigError> {
        let raw = raw.unwrap_or_default();
        let legacy = legacy.unwrap_or_default();
        self.no_patches("sync.toHost.pods", &raw.patches)?;
        if raw.use_secrets_for_sa_tokens == Some(true) {
            return Err(unsupported(
                &["sync.toHost.pods.useSecretsForSATokens"],
                "warren passes service account tokens through pod annotations only",
            ));
        }
        self.must_stay_off(
            "sync.toHost.pods.hybridScheduling.enabled",
            &raw.hybrid_scheduling,
            "warren runs no virtual scheduler; the host cluster schedules synced pods",
        )?;
        if legacy.ephemeral_containers.is_some() {
            self.warn(
                "sync.pods.ephemeralContainers",
                "ignored: ephemeral containers are always synced",
            );
        }
        if legacy.status.is_some() {
            self.warn(
                "sync.pods.status",
                "ignored: pod status is always synced back",
            );
        }
        let enabled = self
            .merge(
                "sync.toHost.pods.enabled",
                raw.enabled,
                "sync.pods.enabled",
                legacy.enabled,
            )?
            .unwrap_or(true);
        let mut enforce_tolerations = Vec::new();
        for (index, spec) in raw
            .enforce_tolerations
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let toleration =
                parse_toleration(spec).map_err(|message| ConfigError::InvalidValue {
                    path: format!("sync.toHost.pods.enforceTolerations[{index}]"),
                    message,
                })?;
            enforce_tolerations.push(toleration);
        }
        let rewrite = raw.rewrite_hosts.unwrap_or_default();
        let rewrite_hosts = if rewrite.enabled.unwrap_or(true) {
            let init = rewrite.init_container.unwrap_or_default();
            let image = init.image.unwrap_or_default();
            let resources = init.resources.unwrap_or_default();
            Some(RewriteHosts {
                image: image_reference(&image),
                limits: resources.limits.unwrap_or_else(default_rewrite_resources),
                requests: resources.requests.unwrap_or_else(default_rewrite_resources),
            })
        } else {
            None
        };
        Ok(PodSync {
            enabled,
            translate_image: raw.translate_image.unwrap_or_default(),
            enforce_tolerations,
            runtime_class_name: raw.runtime_class_name.filter(|s| !s.is_empty()),
            priority_class_name: raw.priority_class_name.filter(|s| !s.is_empty()),
            rewrite_hosts,
        })
    }

    fn custom_resources(
        &mut self,
        key: &str,
        raw: Option<BTreeMap<String, RawCustomResource>>,
        to_host: bool,
    ) -> Result<BTreeMap<String, CustomResourceSync>, ConfigError> {
        let mut out = BTreeMap::new();
        for (resource, settings) in raw.unwrap_or_default() {
            let entry_key = format!("{key}.{resource}");
            self.no_patches(&entry_key, &settings.patches)?;
            let (plural, group) = resource.split_once('.').unwrap_or((&resource, ""));
            if plural.is_empty() || group.is_empty() {
                return Err(ConfigError::InvalidValue {
                    path: entry_key,
                    message: "expected <plural>.<group>, e.g. certificates.cert-manager.io".into(),
                });
            }
            if to_host {
                if settings.scope == Some(Scope::Cluster) {
                    return Err(unsupported(
                        &[&format!("{entry_key}.scope")],
                        "only Namespaced custom resources can be synced to the host",
                    ));
                }
                if settings.mappings.is_some() {
                    return Err(ConfigError::InvalidValue {
                        path: format!("{entry_key}.mappings"),
                        message: "mappings apply to sync.fromHost.customResources only".into(),
                    });
                }
            }
            if settings.enabled.unwrap_or(false) {
                out.insert(
                    resource.clone(),
                    CustomResourceSync {
                        scope: settings.scope,
                        mappings: settings
                            .mappings
                            .and_then(|m| m.by_name)
                            .unwrap_or_default(),
                    },
                );
            }
        }
        Ok(out)
    }

    fn class_sync(
        &mut self,
        key: &str,
        raw: Option<RawSwitchSelector>,
        legacy_key: &str,
        legacy: Option<bool>,
        default: bool,
    ) -> Result<ClassSync, ConfigError> {
        let raw = raw.unwrap_or_default();
        self.no_patches(key, &raw.patches)?;
        let enabled = self
            .merge(&format!("{key}.enabled"), raw.enabled, legacy_key, legacy)?
            .unwrap_or(default);
        Ok(ClassSync {
            enabled,
            selector: raw.selector,
        })
    }

    fn auto_switch(
        &mut self,
        key: &str,
        current: Option<AutoBool>,
        patches: &Option<Value>,
        legacy_key: &str,
        legacy: Option<bool>,
    ) -> Result<bool, ConfigError> {
        self.no_patches(key, patches)?;
        // "auto" follows the virtual scheduler in vCluster; warren has none, so it is off.
        let current = current.and_then(|c| match c {
            AutoBool::Auto => None,
            AutoBool::On => Some(true),
            AutoBool::Off => Some(false),
        });
        Ok(self
            .merge(&format!("{key}.enabled"), current, legacy_key, legacy)?
            .unwrap_or(false))
    }

    fn sync_from_host(
        &mut self,
        raw: RawFromHost,
        legacy: &LegacyFromHost,
        ingresses_to_host: bool,
    ) -> Result<FromHost, ConfigError> {
        let events = raw.events.unwrap_or_default();
        self.no_patches("sync.fromHost.events", &events.patches)?;
        let events = self
            .merge(
                "sync.fromHost.events.enabled",
                events.enabled,
                "sync.events.enabled",
                legacy.events,
            )?
            .unwrap_or(true);

        let nodes = self.nodes(raw.nodes, legacy)?;

        // IngressClasses follow ingress sync unless set (as vCluster's legacy values did).
        let ingress_classes = self.class_sync(
            "sync.fromHost.ingressClasses",
            raw.ingress_classes,
            "sync.ingressclasses.enabled",
            legacy.ingressclasses,
            ingresses_to_host,
        )?;
        let runtime_classes = self.class_sync(
            "sync.fromHost.runtimeClasses",
            raw.runtime_classes,
            "",
            None,
            false,
        )?;
        let priority_classes = self.class_sync(
            "sync.fromHost.priorityClasses",
            raw.priority_classes,
            "",
            None,
            false,
        )?;
        let storage_raw = raw.storage_classes.unwrap_or_default();
        let storage_classes = ClassSync {
            enabled: self.auto_switch(
                "sync.fromHost.storageClasses",
                storage_raw.enabled,
                &storage_raw.patches,
                "sync.hoststorageclasses.enabled",
                legacy.hoststorageclasses,
            )?,
            selector: storage_raw.selector,
        };
        let csi = |raw: Option<RawAutoSwitch>| raw.unwrap_or_default();
        let (csi_nodes, csi_drivers, csi_caps) = (
            csi(raw.csi_nodes),
            csi(raw.csi_drivers),
            csi(raw.csi_storage_capacities),
        );
        let csi_nodes = self.auto_switch(
            "sync.fromHost.csiNodes",
            csi_nodes.enabled,
            &csi_nodes.patches,
            "sync.csinodes.enabled",
            legacy.csinodes,
        )?;
        let csi_drivers = self.auto_switch(
            "sync.fromHost.csiDrivers",
            csi_drivers.enabled,
            &csi_drivers.patches,
            "sync.csidrivers.enabled",
            legacy.csidrivers,
        )?;
        let csi_storage_capacities = self.auto_switch(
            "sync.fromHost.csiStorageCapacities",
            csi_caps.enabled,
            &csi_caps.patches,
            "sync.csistoragecapacities.enabled",
            legacy.csistoragecapacities,
        )?;
        let config_maps = self.mapped("sync.fromHost.configMaps", raw.config_maps)?;
        let secrets = self.mapped("sync.fromHost.secrets", raw.secrets)?;
        let custom_resources =
            self.custom_resources("sync.fromHost.customResources", raw.custom_resources, false)?;
        Ok(FromHost {
            events,
            nodes,
            ingress_classes,
            runtime_classes,
            priority_classes,
            storage_classes,
            csi_nodes,
            csi_drivers,
            csi_storage_capacities,
            config_maps,
            secrets,
            custom_resources,
        })
    }

    fn nodes(
        &mut self,
        raw: Option<RawNodes>,
        legacy: &LegacyFromHost,
    ) -> Result<NodeSync, ConfigError> {
        let raw = raw.unwrap_or_default();
        self.no_patches("sync.fromHost.nodes", &raw.patches)?;
        let legacy_nodes = &legacy.nodes;
        if legacy_nodes.enable_scheduler == Some(true) {
            return Err(unsupported(
                &["sync.nodes.enableScheduler"],
                "warren runs no virtual scheduler; the host cluster schedules synced pods",
            ));
        }
        if legacy_nodes.fake_kubelet_ips.is_some() {
            self.warn(
                "sync.nodes.fakeKubeletIPs",
                "ignored: warren has no kubelet proxy",
            );
        }
        let mut enabled = self.merge(
            "sync.fromHost.nodes.enabled",
            raw.enabled,
            "sync.nodes.enabled",
            legacy_nodes.enabled,
        )?;
        // fake-nodes: true is the legacy way of saying "no real nodes".
        if legacy.fake_nodes == Some(false) {
            self.warn(
                "sync.fake-nodes.enabled",
                "deprecated, use sync.fromHost.nodes.enabled",
            );
        }
        if let Some(fake) = legacy.fake_nodes {
            enabled = self.merge(
                "sync.fromHost.nodes.enabled",
                enabled,
                "sync.fake-nodes.enabled (inverted)",
                fake.then_some(false),
            )?;
        }
        let selector = raw.selector.unwrap_or_default();
        let all = self.merge(
            "sync.fromHost.nodes.selector.all",
            selector.all,
            "sync.nodes.syncAllNodes",
            legacy_nodes.sync_all_nodes,
        )?;
        let legacy_labels = match &legacy_nodes.node_selector {
            Some(text) if !text.trim().is_empty() => Some(parse_label_list(text).map_err(
                |message| ConfigError::InvalidValue {
                    path: "sync.nodes.nodeSelector".into(),
                    message,
                },
            )?),
            _ => None,
        };
        let labels = self.merge(
            "sync.fromHost.nodes.selector.labels",
            selector.labels,
            "sync.nodes.nodeSelector",
            legacy_labels,
        )?;
        let sync_back_changes = self.merge(
            "sync.fromHost.nodes.syncBackChanges",
            raw.sync_back_changes,
            "sync.nodes.syncNodeChanges",
            legacy_nodes.sync_node_changes,
        )?;
        Ok(NodeSync {
            enabled: enabled.unwrap_or(false),
            sync_back_changes: sync_back_changes.unwrap_or(false),
            clear_image_status: raw.clear_image_status.unwrap_or(false),
            all: all.unwrap_or(false),
            selector_labels: labels.unwrap_or_default(),
        })
    }

    fn mapped(
        &mut self,
        key: &str,
        raw: Option<RawMappedSwitch>,
    ) -> Result<MappedSync, ConfigError> {
        let raw = raw.unwrap_or_default();
        self.no_patches(key, &raw.patches)?;
        Ok(MappedSync {
            enabled: raw.enabled.unwrap_or(false),
            by_name: raw.mappings.and_then(|m| m.by_name).unwrap_or_default(),
        })
    }

    fn networking(
        &mut self,
        raw: RawNetworking,
        legacy: Option<LegacyMapServices>,
        legacy_fallback: Option<bool>,
    ) -> Result<Networking, ConfigError> {
        if raw.resolve_dns.as_ref().is_some_and(non_empty) {
            return Err(unsupported(
                &["networking.resolveDNS"],
                "extra DNS rules (a vCluster Pro feature) are not supported by warren yet",
            ));
        }
        if raw.pod_cidr.is_some() {
            self.warn(
                "networking.podCIDR",
                "ignored: synced pods get host pod IPs",
            );
        }
        let replicate = raw.replicate_services.unwrap_or_default();
        let legacy = legacy.unwrap_or_default();
        let to_host = self
            .merge(
                "networking.replicateServices.toHost",
                replicate.to_host,
                "mapServices.fromVirtual",
                legacy.from_virtual,
            )?
            .unwrap_or_default();
        let from_host = self
            .merge(
                "networking.replicateServices.fromHost",
                replicate.from_host,
                "mapServices.fromHost",
                legacy.from_host,
            )?
            .unwrap_or_default();
        let advanced = raw.advanced.unwrap_or_default();
        self.ignored(
            "networking.advanced.proxyKubelets",
            &advanced.proxy_kubelets,
        );
        let fallback_host_cluster = self
            .merge(
                "networking.advanced.fallbackHostCluster",
                advanced.fallback_host_cluster,
                "fallbackHostDns",
                legacy_fallback,
            )?
            .unwrap_or(false);
        let cluster_domain = advanced
            .cluster_domain
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.to_owned());
        if cluster_domain.starts_with('.')
            || cluster_domain.ends_with('.')
            || cluster_domain.contains("..")
        {
            return Err(ConfigError::InvalidValue {
                path: "networking.advanced.clusterDomain".into(),
                message: format!("invalid DNS domain {cluster_domain:?}"),
            });
        }
        Ok(Networking {
            replicate_services: ReplicateServices {
                to_host: service_mappings("networking.replicateServices.toHost", &to_host, true)?,
                from_host: service_mappings(
                    "networking.replicateServices.fromHost",
                    &from_host,
                    false,
                )?,
            },
            cluster_domain,
            fallback_host_cluster,
            service_cidr: raw.service_cidr.filter(|s| !s.is_empty()),
        })
    }
}

/// The legacy keys that feed sync.fromHost, gathered for one call.
struct LegacyFromHost {
    events: Option<bool>,
    ingressclasses: Option<bool>,
    nodes: LegacyNodes,
    fake_nodes: Option<bool>,
    hoststorageclasses: Option<bool>,
    csinodes: Option<bool>,
    csidrivers: Option<bool>,
    csistoragecapacities: Option<bool>,
}

#[allow(clippy::too_many_arguments)]
fn sync_legacy_from_host(
    events: Option<LegacySwitch>,
    ingressclasses: Option<LegacySwitch>,
    nodes: Option<LegacyNodes>,
    fake_nodes: Option<LegacySwitch>,
    hoststorageclasses: Option<LegacySwitch>,
    csinodes: Option<LegacySwitch>,
    csidrivers: Option<LegacySwitch>,
    csistoragecapacities: Option<LegacySwitch>,
) -> LegacyFromHost {
    let enabled = |s: Option<LegacySwitch>| s.and_then(|s| s.enabled);
    LegacyFromHost {
        events: enabled(events),
        ingressclasses: enabled(ingressclasses),
        nodes: nodes.unwrap_or_default(),
        fake_nodes: enabled(fake_nodes),
        hoststorageclasses: enabled(hoststorageclasses),
        csinodes: enabled(csinodes),
        csidrivers: enabled(csidrivers),
        csistoragecapacities: enabled(csistoragecapacities),
    }
}

fn default_rewrite_resources() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cpu".to_owned(), "30m".to_owned()),
        ("memory".to_owned(), "64Mi".to_owned()),
    ])
}

/// `registry/repository:tag` with vCluster's defaults for the parts left out.
fn image_reference(image: &RawImage) -> String {
    let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (registry, repository, tag) = match (
        set(&image.registry),
        set(&image.repository),
        set(&image.tag),
    ) {
        (None, None, None) => return DEFAULT_REWRITE_HOSTS_IMAGE.to_owned(),
        (registry, repository, tag) => (
            registry.unwrap_or_else(|| "mirror.gcr.io".to_owned()),
            repository.unwrap_or_else(|| "library/alpine".to_owned()),
            tag.unwrap_or_else(|| "3.20".to_owned()),
        ),
    };
    format!("{registry}/{repository}:{tag}")
}

/// `k=v,k2=v2` (legacy node selector).
fn parse_label_list(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected key=value pairs, got {pair:?}"))?;
        labels.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(labels)
}

/// `*`, `key`, `key=value`, `key:Effect` or `key=value:Effect` (kubectl taint syntax).
pub(crate) fn parse_toleration(spec: &str) -> Result<Toleration, String> {
    if spec == "*" {
        return Ok(Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        });
    }
    let invalid = || format!("invalid toleration {spec:?}, expected key[=value][:Effect]");
    let (key_value, effect) = match spec.split(':').collect::<Vec<_>>().as_slice() {
        [kv] => (*kv, None),
        [kv, effect] => (*kv, Some(*effect)),
        _ => return Err(invalid()),
    };
    if let Some(effect) = effect
        && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
    {
        return Err(format!(
            "invalid toleration {spec:?}: effect must be NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = match key_value.split('=').collect::<Vec<_>>().as_slice() {
        [key] => (*key, None),
        [key, value] => (*key, Some(*value)),
        _ => return Err(invalid()),
    };
    if key.is_empty() {
        return Err(invalid());
    }
    Ok(Toleration {
        key: Some(key.to_owned()),
        // With an effect and no value the key alone is tolerated (Exists); with a value, Equal.
        operator: match (value, effect) {
            (Some(_), _) => Some("Equal".into()),
            (None, Some(_)) => Some("Exists".into()),
            (None, None) => None,
        },
        value: value.map(str::to_owned),
        effect: effect.map(str::to_owned),
        toleration_seconds: None,
    })
}

fn service_ref(text: &str) -> Option<ServiceRef> {
    let text = text.trim();
    let (namespace, name) = match text.split('/').collect::<Vec<_>>().as_slice() {
        [name] => (None, *name),
        [namespace, name] if !namespace.is_empty() => (Some((*namespace).to_owned()), *name),
        _ => return None,
    };
    (!name.is_empty()).then(|| ServiceRef {
        namespace,
        name: name.to_owned(),
    })
}

/// `to_host`: virtual `from` needs a namespace. fromHost: virtual `to` needs one.
fn service_mappings(
    key: &str,
    raw: &[RawServiceMapping],
    to_host: bool,
) -> Result<Vec<ServiceMapping>, ConfigError> {
    raw.iter()
        .enumerate()
        .map(|(index, mapping)| {
            let field = |name: &str, value: &Option<String>, virtual_side: bool| {
                let path = format!("{key}[{index}].{name}");
                let text = value.as_deref().unwrap_or_default();
                let parsed = service_ref(text).ok_or_else(|| ConfigError::InvalidValue {
                    path: path.clone(),
                    message: format!("expected namespace/name or name, got {text:?}"),
                })?;
                if virtual_side && parsed.namespace.is_none() {
                    return Err(ConfigError::InvalidValue {
                        path,
                        message: format!(
                            "the virtual service needs its namespace: namespace/{}",
                            parsed.name
                        ),
                    });
                }
                Ok(parsed)
            };
            Ok(ServiceMapping {
                from: field("from", &mapping.from, to_host)?,
                to: field("to", &mapping.to, !to_host)?,
            })
        })
        .collect()
}

/// Settings that work alone but not together.
fn validate_combinations(config: &SyncerConfig) -> Result<(), ConfigError> {
    let to_host = &config.sync.to_host;
    let from_host = &config.sync.from_host;
    if to_host.storage_classes && from_host.storage_classes.enabled {
        return Err(unsupported(
            &[
                "sync.toHost.storageClasses.enabled",
                "sync.fromHost.storageClasses.enabled",
            ],
            "storage classes can be synced one way only",
        ));
    }
    if to_host.priority_classes && from_host.priority_classes.enabled {
        return Err(unsupported(
            &[
                "sync.toHost.priorityClasses.enabled",
                "sync.fromHost.priorityClasses.enabled",
            ],
            "priority classes can be synced one way only",
        ));
    }
    if config.multi_namespace_mode {
        for (index, mapping) in config
            .networking
            .replicate_services
            .to_host
            .iter()
            .enumerate()
        {
            if mapping.to.namespace.is_some() {
                return Err(unsupported(
                    &[
                        "experimental.multiNamespaceMode.enabled",
                        &format!("networking.replicateServices.toHost[{index}].to"),
                    ],
                    "in multi-namespace mode a replicated service lands in the host namespace of its virtual namespace; give only a name",
                ));
            }
        }
        if to_host.network_policies {
            return Err(unsupported(
                &[
                    "experimental.multiNamespaceMode.enabled",
                    "sync.toHost.networkPolicies.enabled",
                ],
                "network policy translation needs all pods in one host namespace",
            ));
        }
    }
    Ok(())
}
