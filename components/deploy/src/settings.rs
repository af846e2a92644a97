//! The `controlPlane.statefulSet` keys of vcluster.yaml that shape the deployment (the syncer
//! itself ignores them): the data claim (`persistence.volumeClaim`) and the container's
//! `resources`. Other keys under `controlPlane.statefulSet` are reported as ignored.

use std::collections::BTreeMap;

use serde_json::Value;
use warren_apimachinery::quantity::Quantity;
use warren_syncer::config::ConfigError;

const ROOT: &str = "controlPlane.statefulSet";
/// vCluster's default claim size.
pub const DEFAULT_SIZE: &str = "5Gi";

/// The StatefulSet's `data` volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persistence {
    /// `volumeClaim.enabled` (`true`/`auto`, the default): a claim per pod; `false`: an
    /// emptyDir (state is lost with the pod).
    pub claim: bool,
    pub size: String,
    /// `None`: the host's default storage class.
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            claim: true,
            size: DEFAULT_SIZE.to_owned(),
            storage_class: None,
            access_modes: vec!["ReadWriteOnce".to_owned()],
        }
    }
}

/// What `controlPlane.statefulSet` sets for the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatefulSetSettings {
    pub persistence: Persistence,
    /// `resources.limits` / `resources.requests`, each key over the defaults.
    pub limits: BTreeMap<String, String>,
    pub requests: BTreeMap<String, String>,
}

impl Default for StatefulSetSettings {
    /// vCluster's defaults for the syncer container (without its ephemeral-storage entries:
    /// the SQLite state is on the claim).
    fn default() -> Self {
        StatefulSetSettings {
            persistence: Persistence::default(),
            limits: BTreeMap::from([("memory".to_owned(), "2Gi".to_owned())]),
            requests: BTreeMap::from([
                ("cpu".to_owned(), "200m".to_owned()),
                ("memory".to_owned(), "256Mi".to_owned()),
            ]),
        }
    }
}

fn invalid(path: &str, message: &str) -> ConfigError {
    ConfigError::InvalidValue {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn mapping<'a>(
    value: &'a Value,
    path: &str,
) -> Result<&'a serde_json::Map<String, Value>, ConfigError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(path, "must be a mapping")),
    }
}

/// A quantity as vcluster.yaml may write it (`5Gi`, `0.5`, `1`).
fn quantity(value: &Value, path: &str) -> Result<String, ConfigError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(invalid(path, "must be a quantity such as 5Gi or 500m")),
    };
    Quantity::parse(&text).map_err(|_| {
        invalid(
            path,
            &format!("{text:?} is not a quantity such as 5Gi or 500m"),
        )
    })?;
    Ok(text)
}

impl StatefulSetSettings {
    /// Reads `controlPlane.statefulSet` (as the syncer's parser left it: any YAML). Returns the
    /// settings and the keys it does not use.
    pub fn from_value(
        value: Option<&Value>,
    ) -> Result<(StatefulSetSettings, Vec<String>), ConfigError> {
        let mut settings = StatefulSetSettings::default();
        let mut ignored = Vec::new();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok((settings, ignored));
        };
        for (key, value) in mapping(value, ROOT)? {
            let path = format!("{ROOT}.{key}");
            match key.as_str() {
                "persistence" => settings.persistence(value, &path, &mut ignored)?,
                "resources" => settings.resources(value, &path, &mut ignored)?,
                _ => ignored.push(path),
            }
        }
        ignored.sort();
        Ok((settings, ignored))
    }

    fn persistence(
        &mut self,
        value: &Value,
        path: &str,
        ignored: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        if value.is_null() {
            return Ok(());
        }
        for (key, value) in mapping(value, path)? {
            let path = format!("{path}.{key}");
            if key != "volumeClaim" {
                ignored.push(path);
                continue;
            }
            if value.is_null() {
                continue;
            }
            for (key, value) in mapping(value, &path)? {
                let path = format!("{path}.{key}");
                let p = &mut self.persistence;
                match (key.as_str(), value) {
                    (_, Value::Null) => {}
                    ("enabled", Value::Bool(on)) => p.claim = *on,
                    ("enabled", Value::String(s)) if s == "auto" => p.claim = true,
                    ("enabled", _) => return Err(invalid(&path, "must be true, false or auto")),
                    ("size", v) => p.size = quantity(v, &path)?,
                    ("storageClass", Value::String(s)) => {
                        p.storage_class = (!s.is_empty()).then(|| s.clone())
                    }
                    ("storageClass", _) => return Err(invalid(&path, "must be a string")),
                    ("accessModes", Value::Array(modes)) => {
                        p.access_modes = modes
                            .iter()
                            .map(|m| match m.as_str() {
                                Some(
                                    mode @ ("ReadWriteOnce" | "ReadOnlyMany" | "ReadWriteMany"
                                    | "ReadWriteOncePod"),
                                ) => Ok(mode.to_owned()),
                                _ => Err(invalid(
                                    &path,
                                    "must list ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod",
                                )),
                            })
                            .collect::<Result<_, _>>()?;
                        if p.access_modes.is_empty() {
                            return Err(invalid(&path, "must not be empty"));
                        }
                    }
                    ("accessModes", _) => return Err(invalid(&path, "must be a list")),
                    _ => ignored.push(path),
                }
            }
        }
        Ok(())
    }

    fn resources(
        &mut self,
        value: &Value,
        path: &str,
        ignored: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        if value.is_null() {
            return Ok(());
        }
        for (key, value) in mapping(value, path)? {
            let path = format!("{path}.{key}");
            let target = match key.as_str() {
                "limits" => &mut self.limits,
                "requests" => &mut self.requests,
                _ => {
                    ignored.push(path);
                    continue;
                }
            };
            if value.is_null() {
                continue;
            }
            for (resource, amount) in mapping(value, &path)? {
                let path = format!("{path}.{resource}");
                if amount.is_null() {
                    // `memory: null` drops a default, as in Helm values.
                    target.remove(resource);
                } else {
                    target.insert(resource.clone(), quantity(amount, &path)?);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: Value) -> Result<(StatefulSetSettings, Vec<String>), String> {
        StatefulSetSettings::from_value(Some(&v)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_without_the_key() {
        assert_eq!(
            StatefulSetSettings::from_value(None).unwrap(),
            (StatefulSetSettings::default(), vec![])
        );
        assert_eq!(
            read(Value::Null).unwrap(),
            (StatefulSetSettings::default(), vec![])
        );
    }

    #[test]
    fn claim_and_resources_are_read() {
        let (settings, ignored) = read(json!({
            "persistence": {"volumeClaim": {"enabled": "auto", "size": "10Gi",
                "storageClass": "fast", "accessModes": ["ReadWriteOncePod"], "retentionPolicy": "Retain"},
                "dataVolume": []},
            "resources": {"limits": {"memory": "4Gi", "cpu": 2}, "requests": {"memory": null}},
            "image": {"tag": "x"},
        }))
        .unwrap();
        assert_eq!(
            settings,
            StatefulSetSettings {
                persistence: Persistence {
                    claim: true,
                    size: "10Gi".into(),
                    storage_class: Some("fast".into()),
                    access_modes: vec!["ReadWriteOncePod".into()],
                },
                limits: BTreeMap::from([
                    ("cpu".into(), "2".into()),
                    ("memory".into(), "4Gi".into())
                ]),
                requests: BTreeMap::from([("cpu".into(), "200m".into())]),
            }
        );
        assert_eq!(
            ignored,
            [
                "controlPlane.statefulSet.image",
                "controlPlane.statefulSet.persistence.dataVolume",
                "controlPlane.statefulSet.persistence.volumeClaim.retentionPolicy",
            ]
        );
        let (settings, _) =
            read(json!({"persistence": {"volumeClaim": {"enabled": false, "storageClass": ""}}}))
                .unwrap();
        assert!(!settings.persistence.claim);
        assert_eq!(settings.persistence.storage_class, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (value, message) in [
            (
                json!({"persistence": {"volumeClaim": {"size": "five"}}}),
                "controlPlane.statefulSet.persistence.volumeClaim.size: \"five\" is not a quantity such as 5Gi or 500m",
            ),
            (
                json!({"persistence": {"volumeClaim": {"enabled": "yes"}}}),
                "controlPlane.statefulSet.persistence.volumeClaim.enabled: must be true, false or auto",
            ),
            (
                json!({"persistence": {"volumeClaim": {"accessModes": ["Sometimes"]}}}),
                "controlPlane.statefulSet.persistence.volumeClaim.accessModes: must list ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod",
            ),
            (
                json!({"resources": {"limits": {"memory": true}}}),
                "controlPlane.statefulSet.resources.limits.memory: must be a quantity such as 5Gi or 500m",
            ),
            (
                json!({"resources": "big"}),
                "controlPlane.statefulSet.resources: must be a mapping",
            ),
        ] {
            assert_eq!(read(value).unwrap_err(), message);
        }
    }
}
