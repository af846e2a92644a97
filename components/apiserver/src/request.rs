//! Request decoding with no I/O: the URL path into an API target, the query into options, and the
//! Accept / Content-Type headers into what to send and how to read the body.

use std::collections::HashMap;

use warren_apimachinery::error::ApiError;

/// What a URL path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Version,
    Health(&'static str),
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    ResourceList {
        group: String,
        version: String,
    },
    OpenApiV2,
    OpenApiV3Index,
    /// `/openapi/v3/<api/v1 | apis/g/v>`
    OpenApiV3 {
        gv_path: String,
    },
    Resource(ResourcePath),
    NotFound,
}

/// A path under a group/version that names a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub watch_prefix: bool,
}

/// Splits a URL path into its target. Never fails: unknown shapes are `NotFound`.
pub fn parse_path(path: &str) -> Target {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Target::Version,
        ["healthz", ..] => Target::Health("healthz"),
        ["livez", ..] => Target::Health("livez"),
        ["readyz", ..] => Target::Health("readyz"),
        ["api"] => Target::CoreVersions,
        ["apis"] => Target::Groups,
        ["apis", group] => Target::Group(group.to_string()),
        ["openapi", "v2"] => Target::OpenApiV2,
        ["openapi", "v3"] => Target::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] => Target::OpenApiV3 {
            gv_path: rest.join("/"),
        },
        ["api", version, rest @ ..] => resource_target("", version, rest),
        ["apis", group, version, rest @ ..] => resource_target(group, version, rest),
        _ => Target::NotFound,
    }
}

fn resource_target(group: &str, version: &str, rest: &[&str]) -> Target {
    let (watch_prefix, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        other => (false, other),
    };
    let mk = |plural: &str, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Target::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
            watch_prefix,
        })
    };
    match rest {
        [] if !watch_prefix => Target::ResourceList {
            group: group.to_string(),
            version: version.to_string(),
        },
        // namespaces/<name>/status|finalize are subresources of the namespace itself
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            mk("namespaces", None, Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => mk(plural, Some(ns), None, None),
        ["namespaces", ns, plural, name] => mk(plural, Some(ns), Some(name), None),
        ["namespaces", ns, plural, name, sub] => mk(plural, Some(ns), Some(name), Some(sub)),
        [plural] => mk(plural, None, None, None),
        [plural, name] => mk(plural, None, Some(name), None),
        [plural, name, sub] => mk(plural, None, Some(name), Some(sub)),
        _ => Target::NotFound,
    }
}

/// Query parameters, last value wins (as Go's `url.Values.Get` takes the first; kube clients
/// never repeat them).
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>, Option<String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map = HashMap::new();
        if let Some(q) = raw {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Query(map, None)
    }

    /// Records the request's User-Agent (`""` when the header is missing); the server's own
    /// writes have none.
    pub fn with_user_agent(mut self, user_agent: Option<&str>) -> Query {
        self.1 = Some(user_agent.unwrap_or_default().to_string());
        self
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.1.as_deref()
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_string(), value.to_string());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some("true" | "1" | "True") => Ok(true),
            Some("false" | "0" | "False") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value {other:?} for query parameter {key:?}: must be true or false"
            ))),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value {v:?} for query parameter {key:?}: must be an integer"
                ))
            }),
        }
    }

    /// `dryRun=All` (the only value kube accepts).
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}

/// How the server treats fields the schema doesn't know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

impl FieldValidation {
    pub fn from_query(q: &Query) -> Result<FieldValidation, ApiError> {
        match q.get("fieldValidation") {
            None | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// The response shape asked for in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    Object,
    Table,
    PartialObjectMetadata,
    DiscoveryV2,
}

/// One media range of an Accept header, e.g. `application/json;as=Table;v=v1;g=meta.k8s.io`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaRange {
    mime: String,
    params: Vec<(String, String)>,
}

impl MediaRange {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn media_ranges(accept: &str) -> Vec<MediaRange> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let mime = pieces.next()?.trim().to_ascii_lowercase();
            if mime.is_empty() {
                return None;
            }
            let params = pieces
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                })
                .collect();
            Some(MediaRange { mime, params })
        })
        .collect()
}

fn is_json_like(mime: &str) -> bool {
    matches!(
        mime,
        "application/json" | "*/*" | "application/*" | "application/vnd.kubernetes.protobuf"
    )
}

/// Picks the first representation of the Accept header that warren serves. Anything that is
/// not a Table/metadata/discovery request gets plain JSON (kubectl and client-go accept JSON
/// even when they prefer protobuf).
pub fn negotiate(accept: Option<&str>) -> Result<Representation, ApiError> {
    let Some(accept) = accept else {
        return Ok(Representation::Object);
    };
    let ranges = media_ranges(accept);
    if ranges.is_empty() {
        return Ok(Representation::Object);
    }
    for r in &ranges {
        if !is_json_like(&r.mime) {
            continue;
        }
        match (r.param("as"), r.param("g"), r.param("v")) {
            (None, _, _) => return Ok(Representation::Object),
            (Some("Table"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => {
                return Ok(Representation::Table);
            }
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                Some("v1" | "v1beta1"),
            ) => return Ok(Representation::PartialObjectMetadata),
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
                return Ok(Representation::DiscoveryV2);
            }
            _ => continue,
        }
    }
    if ranges
        .iter()
        .any(|r| r.mime == "application/yaml" || r.mime == "text/plain")
    {
        return Ok(Representation::Object);
    }
    Err(ApiError::new(
        warren_apimachinery::error::Reason::NotAcceptable,
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    ))
}

/// The body encodings warren reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    Protobuf,
}

/// The media type of a request body, without parameters.
pub fn content_mime(content_type: Option<&str>) -> String {
    content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub fn body_format(mime: &str) -> Option<BodyFormat> {
    match mime {
        "" | "application/json" => Some(BodyFormat::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Some(BodyFormat::Yaml),
        "application/vnd.kubernetes.protobuf" => Some(BodyFormat::Protobuf),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(g: &str, p: &str, ns: Option<&str>, name: Option<&str>, sub: Option<&str>) -> Target {
        Target::Resource(ResourcePath {
            group: g.into(),
            version: "v1".into(),
            plural: p.into(),
            namespace: ns.map(Into::into),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
            watch_prefix: false,
        })
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("/version"), Target::Version);
        assert_eq!(parse_path("/readyz"), Target::Health("readyz"));
        assert_eq!(parse_path("/api"), Target::CoreVersions);
        assert_eq!(parse_path("/apis/apps"), Target::Group("apps".into()));
        assert_eq!(
            parse_path("/api/v1"),
            Target::ResourceList {
                group: "".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            parse_path("/api/v1/namespaces"),
            res("", "namespaces", None, None, None)
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/kube-system"),
            res("", "namespaces", None, Some("kube-system"), None)
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/x/status"),
            res("", "namespaces", None, Some("x"), Some("status"))
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/x/pods"),
            res("", "pods", Some("x"), None, None)
        );
        assert_eq!(
            parse_path("/apis/apps/v1/namespaces/d/deployments/web/scale"),
            res("apps", "deployments", Some("d"), Some("web"), Some("scale"))
        );
        assert_eq!(
            parse_path("/apis/apps/v1/deployments"),
            res("apps", "deployments", None, None, None)
        );
        assert_eq!(parse_path("/nope/x"), Target::NotFound);
        assert_eq!(
            parse_path("/openapi/v3/apis/apps/v1"),
            Target::OpenApiV3 {
                gv_path: "apis/apps/v1".into()
            }
        );
        match parse_path("/api/v1/watch/namespaces/a/pods") {
            Target::Resource(r) => {
                assert!(r.watch_prefix);
                assert_eq!(r.plural, "pods");
                assert_eq!(r.namespace.as_deref(), Some("a"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accept_negotiation() {
        let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(kubectl_get)), Ok(Representation::Table));
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf, */*")),
            Ok(Representation::Object)
        );
        assert_eq!(negotiate(None), Ok(Representation::Object));
        let disco = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(negotiate(Some(disco)), Ok(Representation::DiscoveryV2));
        assert_eq!(
            negotiate(Some("application/json;as=Foo;g=x;v=v1,application/json")),
            Ok(Representation::Object)
        );
        assert!(negotiate(Some("image/png")).is_err());
    }

    #[test]
    fn query_values() {
        let q = Query::parse(Some("limit=500&labelSelector=app%3Dweb&watch=true&x="));
        assert_eq!(q.int("limit"), Ok(Some(500)));
        assert_eq!(q.get("labelSelector"), Some("app=web"));
        assert_eq!(q.flag("watch"), Ok(true));
        assert_eq!(q.get("x"), None);
        assert!(Query::parse(Some("limit=abc")).int("limit").is_err());
        assert!(Query::parse(Some("dryRun=Some")).dry_run().is_err());
    }
}
