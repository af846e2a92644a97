//! RBAC with no I/O: policy rules and how they match a request (kube's `RuleAllows`), role and
//! binding resolution for a user (`Policy`), the escalation coverage check (`covers`),
//! ClusterRole aggregation and the bootstrap policy kube-apiserver creates on first start.

pub mod aggregation;
pub mod bootstrap;
pub mod reconcile;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

/// `system:masters`: every request is allowed, RBAC is not consulted.
pub const SYSTEM_MASTERS: &str = "system:masters";
pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";
pub const SYSTEM_UNAUTHENTICATED: &str = "system:unauthenticated";
pub const SYSTEM_SERVICEACCOUNTS: &str = "system:serviceaccounts";
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Who is making a request (kube's `user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn new(name: impl Into<String>, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            extra: BTreeMap::new(),
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    pub fn is_master(&self) -> bool {
        self.in_group(SYSTEM_MASTERS)
    }

    /// Adds `system:authenticated` unless present (kube's authenticated group adder).
    pub fn with_authenticated_group(mut self) -> UserInfo {
        if !self.in_group(SYSTEM_AUTHENTICATED) && self.name != "system:anonymous" {
            self.groups.push(SYSTEM_AUTHENTICATED.to_string());
        }
        self
    }

    /// `authentication.k8s.io/v1` UserInfo JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"username": self.name});
        if !self.uid.is_empty() {
            v["uid"] = json!(self.uid);
        }
        if !self.groups.is_empty() {
            v["groups"] = json!(self.groups);
        }
        if !self.extra.is_empty() {
            v["extra"] = json!(self.extra);
        }
        v
    }

    /// The `(namespace, name)` of a service account user `system:serviceaccount:<ns>:<name>`.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        service_account_of(&self.name)
    }
}

/// Splits `system:serviceaccount:<ns>:<name>`.
pub fn service_account_of(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    if ns.is_empty() || name.is_empty() || name.contains(':') {
        return None;
    }
    Some((ns, name))
}

/// `system:serviceaccount:<ns>:<name>`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// One `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

impl PolicyRule {
    pub fn from_json(v: &Value) -> PolicyRule {
        PolicyRule {
            verbs: strings(v, "verbs"),
            api_groups: strings(v, "apiGroups"),
            resources: strings(v, "resources"),
            resource_names: strings(v, "resourceNames"),
            non_resource_urls: strings(v, "nonResourceURLs"),
        }
    }

    /// The rules of a Role or ClusterRole object.
    pub fn list_from(role: &Value) -> Vec<PolicyRule> {
        role.get("rules")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(PolicyRule::from_json).collect())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"verbs": self.verbs});
        if !self.api_groups.is_empty() {
            v["apiGroups"] = json!(self.api_groups);
        }
        if !self.resources.is_empty() {
            v["resources"] = json!(self.resources);
        }
        if !self.resource_names.is_empty() {
            v["resourceNames"] = json!(self.resource_names);
        }
        if !self.non_resource_urls.is_empty() {
            v["nonResourceURLs"] = json!(self.non_resource_urls);
        }
        v
    }

    /// kube's `rbacv1helpers.CompactString`: `{APIGroups:["apps"], Resources:["deployments"],
    /// Verbs:["get"]}` (Go's `%q` of a string slice).
    pub fn compact_string(&self) -> String {
        let q = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
            format!("[{}]", quoted.join(" "))
        };
        let mut parts = Vec::new();
        if !self.api_groups.is_empty() {
            parts.push(format!("APIGroups:{}", q(&self.api_groups)));
        }
        if !self.resources.is_empty() {
            parts.push(format!("Resources:{}", q(&self.resources)));
        }
        if !self.non_resource_urls.is_empty() {
            parts.push(format!("NonResourceURLs:{}", q(&self.non_resource_urls)));
        }
        if !self.resource_names.is_empty() {
            parts.push(format!("ResourceNames:{}", q(&self.resource_names)));
        }
        if !self.verbs.is_empty() {
            parts.push(format!("Verbs:{}", q(&self.verbs)));
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// kube's `RuleAllows`.
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if !verb_matches(self, &attrs.verb) {
            return false;
        }
        match &attrs.resource {
            Some(r) => {
                let combined = if r.subresource.is_empty() {
                    r.resource.clone()
                } else {
                    format!("{}/{}", r.resource, r.subresource)
                };
                api_group_matches(self, &r.api_group)
                    && resource_matches(self, &combined, &r.subresource)
                    && resource_name_matches(self, &r.name)
            }
            None => non_resource_url_matches(self, &attrs.path),
        }
    }
}

/// Go's `%q` for the strings RBAC holds (ASCII names; `"` and `\` escaped).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a string slice: `["a" "b"]`.
pub fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty()
                && r.strip_prefix("*/").is_some_and(|sub| sub == subresource))
    })
}

fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*"
            || u == path
            || u.strip_suffix('*')
                .is_some_and(|prefix| path.starts_with(prefix))
    })
}

/// What a request does to what (kube's `authorizer.Attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    /// `None` for a non-resource request (then `path` is used).
    pub resource: Option<ResourceAttributes>,
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    pub namespace: String,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

impl Attributes {
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> Attributes {
        Attributes {
            verb: verb.to_string(),
            resource: Some(ResourceAttributes {
                namespace: namespace.to_string(),
                api_group: api_group.to_string(),
                api_version: String::new(),
                resource: resource.to_string(),
                subresource: subresource.to_string(),
                name: name.to_string(),
            }),
            path: String::new(),
        }
    }

    pub fn non_resource(verb: &str, path: &str) -> Attributes {
        Attributes {
            verb: verb.to_string(),
            resource: None,
            path: path.to_string(),
        }
    }

    /// kube's forbidden wording: `pods "x" is forbidden: User "u" cannot get resource "pods"
    /// in API group "" in the namespace "default"`; non-resource: `forbidden: User "u" cannot
    /// get path "/foo"`. `reason`, when not empty, is appended after `: `.
    pub fn forbidden_message(&self, user: &str, reason: &str) -> String {
        let mut msg = match &self.resource {
            Some(r) => {
                let qualified = if r.api_group.is_empty() {
                    r.resource.clone()
                } else {
                    format!("{}.{}", r.resource, r.api_group)
                };
                let object = if r.name.is_empty() {
                    format!("{qualified} is forbidden")
                } else {
                    format!("{qualified} {} is forbidden", go_quote(&r.name))
                };
                let resource = if r.subresource.is_empty() {
                    r.resource.clone()
                } else {
                    format!("{}/{}", r.resource, r.subresource)
                };
                let scope = if r.namespace.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("in the namespace {}", go_quote(&r.namespace))
                };
                format!(
                    "{object}: User {} cannot {} resource {} in API group {} {scope}",
                    go_quote(user),
                    self.verb,
                    go_quote(&resource),
                    go_quote(&r.api_group),
                )
            }
            None => format!(
                "forbidden: User {} cannot {} path {}",
                go_quote(user),
                self.verb,
                go_quote(&self.path)
            ),
        };
        if !reason.is_empty() {
            msg.push_str(": ");
            msg.push_str(reason);
        }
        msg
    }
}

/// A binding subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl Subject {
    /// kube's `appliesToUser`; `binding_namespace` is empty for ClusterRoleBindings.
    pub fn applies_to(&self, user: &UserInfo, binding_namespace: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.name == self.name,
            "Group" => user.in_group(&self.name),
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() {
                    binding_namespace
                } else {
                    &self.namespace
                };
                !ns.is_empty() && user.name == service_account_username(ns, &self.name)
            }
            _ => false,
        }
    }
}

/// A RoleBinding (with its namespace) or ClusterRoleBinding (namespace empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub namespace: String,
    pub name: String,
    pub role_kind: String,
    pub role_name: String,
    pub subjects: Vec<Subject>,
}

impl Binding {
    pub fn from_json(v: &Value) -> Binding {
        let meta = v.get("metadata").cloned().unwrap_or(Value::Null);
        let role_ref = v.get("roleRef").cloned().unwrap_or(Value::Null);
        Binding {
            namespace: str_field(&meta, "namespace").to_string(),
            name: str_field(&meta, "name").to_string(),
            role_kind: str_field(&role_ref, "kind").to_string(),
            role_name: str_field(&role_ref, "name").to_string(),
            subjects: v
                .get("subjects")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|s| Subject {
                            kind: str_field(s, "kind").to_string(),
                            name: str_field(s, "name").to_string(),
                            namespace: str_field(s, "namespace").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn applies_to(&self, user: &UserInfo) -> bool {
        self.matching_subject(user).is_some()
    }

    /// The first subject that names `user`.
    pub fn matching_subject(&self, user: &UserInfo) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|s| s.applies_to(user, &self.namespace))
    }

    /// kube's binding describer: `ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`,
    /// `RoleBinding "b/ns" of Role "r" to ServiceAccount "sa/ns"`.
    pub fn describe(&self, subject: &Subject) -> String {
        let who = match subject.kind.as_str() {
            "ServiceAccount" => {
                let ns = if subject.namespace.is_empty() {
                    &self.namespace
                } else {
                    &subject.namespace
                };
                go_quote(&format!("{}/{ns}", subject.name))
            }
            _ => go_quote(&subject.name),
        };
        let (kind, name) = if self.namespace.is_empty() {
            ("ClusterRoleBinding", self.name.clone())
        } else {
            ("RoleBinding", format!("{}/{}", self.name, self.namespace))
        };
        format!(
            "{kind} {} of {} {} to {} {who}",
            go_quote(&name),
            self.role_kind,
            go_quote(&self.role_name),
            subject.kind
        )
    }
}

/// Every Role, ClusterRole and binding, indexed for evaluation.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    roles: HashMap<(String, String), Vec<PolicyRule>>,
    cluster_role_bindings: Vec<Binding>,
    role_bindings: HashMap<String, Vec<Binding>>,
}

fn meta_name(v: &Value) -> (String, String) {
    let m = v.get("metadata").cloned().unwrap_or(Value::Null);
    (
        str_field(&m, "namespace").to_string(),
        str_field(&m, "name").to_string(),
    )
}

impl Policy {
    /// Builds the index from the four kinds of objects (as JSON).
    pub fn from_objects<'a>(
        roles: impl IntoIterator<Item = &'a Value>,
        cluster_roles: impl IntoIterator<Item = &'a Value>,
        role_bindings: impl IntoIterator<Item = &'a Value>,
        cluster_role_bindings: impl IntoIterator<Item = &'a Value>,
    ) -> Policy {
        let mut p = Policy::default();
        for r in roles {
            p.roles.insert(meta_name(r), PolicyRule::list_from(r));
        }
        for r in cluster_roles {
            p.cluster_roles
                .insert(meta_name(r).1, PolicyRule::list_from(r));
        }
        for b in role_bindings {
            let b = Binding::from_json(b);
            p.role_bindings
                .entry(b.namespace.clone())
                .or_default()
                .push(b);
        }
        p.cluster_role_bindings = cluster_role_bindings
            .into_iter()
            .map(Binding::from_json)
            .collect();
        p
    }

    /// The rules a binding grants, or `None` when its role does not exist.
    fn binding_rules(&self, b: &Binding) -> Option<&[PolicyRule]> {
        match (b.role_kind.as_str(), b.namespace.is_empty()) {
            ("ClusterRole", _) => self.cluster_roles.get(&b.role_name).map(Vec::as_slice),
            ("Role", false) => self
                .roles
                .get(&(b.namespace.clone(), b.role_name.clone()))
                .map(Vec::as_slice),
            _ => None,
        }
    }

    fn bindings_for<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Binding> + 'a {
        let local = if namespace.is_empty() {
            None
        } else {
            self.role_bindings.get(namespace)
        };
        self.cluster_role_bindings
            .iter()
            .chain(local.into_iter().flatten())
    }

    /// Whether RBAC allows the request (kube's RBAC authorizer, which also answers allowed for
    /// `system:masters` only through the `cluster-admin` binding; the short-circuit is the
    /// caller's).
    pub fn allows(&self, user: &UserInfo, attrs: &Attributes) -> bool {
        self.authorize(user, attrs).0
    }

    /// Whether RBAC allows the request, with kube's reason: the binding that allowed it, or
    /// the bindings whose roles are missing (empty when nothing matched).
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> (bool, String) {
        let namespace = attrs
            .resource
            .as_ref()
            .map(|r| r.namespace.as_str())
            .unwrap_or("");
        let mut errors = Vec::new();
        for b in self.bindings_for(namespace) {
            let Some(subject) = b.matching_subject(user) else {
                continue;
            };
            match self.binding_rules(b) {
                Some(rules) if rules.iter().any(|r| r.allows(attrs)) => {
                    return (true, format!("RBAC: allowed by {}", b.describe(subject)));
                }
                Some(_) => {}
                None => errors.push(missing_role(b)),
            }
        }
        let reason = match errors.len() {
            0 => String::new(),
            1 => format!("RBAC: {}", errors[0]),
            _ => format!("RBAC: [{}]", errors.join(", ")),
        };
        (false, reason)
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide rules when empty), and
    /// the resolution errors (bindings to missing roles), as kube's `RulesFor`.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for b in self.bindings_for(namespace) {
            if !b.applies_to(user) {
                continue;
            }
            match self.binding_rules(b) {
                Some(r) => rules.extend(r.iter().cloned()),
                None => errors.push(missing_role(b)),
            }
        }
        (rules, errors)
    }

    /// The rules of a role reference from a binding in `namespace` (empty: cluster binding).
    pub fn role_rules(&self, kind: &str, name: &str, namespace: &str) -> Option<Vec<PolicyRule>> {
        match kind {
            "ClusterRole" => self.cluster_roles.get(name).cloned(),
            "Role" if !namespace.is_empty() => self
                .roles
                .get(&(namespace.to_string(), name.to_string()))
                .cloned(),
            _ => None,
        }
    }
}

fn missing_role(b: &Binding) -> String {
    let kind = if b.role_kind == "ClusterRole" {
        "clusterrole"
    } else {
        "role"
    };
    format!(
        "{kind}.rbac.authorization.k8s.io {} not found",
        go_quote(&b.role_name)
    )
}

/// kube's `BreakdownRule`: one verb, one group, one resource, one name (or one URL and verb).
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                if rule.resource_names.is_empty() {
                    out.push(PolicyRule {
                        verbs: vec![verb.clone()],
                        api_groups: vec![group.clone()],
                        resources: vec![resource.clone()],
                        ..PolicyRule::default()
                    });
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule {
                            verbs: vec![verb.clone()],
                            api_groups: vec![group.clone()],
                            resources: vec![resource.clone()],
                            resource_names: vec![name.clone()],
                            ..PolicyRule::default()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                verbs: vec![verb.clone()],
                non_resource_urls: vec![url.clone()],
                ..PolicyRule::default()
            });
        }
    }
    out
}

fn resource_covers_all(set: &[String], covers: &[String]) -> bool {
    if has(set, "*") || has_all(set, covers) {
        return true;
    }
    covers.iter().all(|path| {
        if has(set, path) {
            return true;
        }
        match path.split_once('/') {
            Some((_, sub)) => has(set, &format!("*/{sub}")),
            None => false,
        }
    })
}

fn non_resource_url_covers(owner: &str, sub: &str) -> bool {
    owner == sub || owner.strip_suffix('*').is_some_and(|p| sub.starts_with(p))
}

fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = sub.non_resource_urls.iter().all(|path| {
        owner
            .non_resource_urls
            .iter()
            .any(|o| non_resource_url_covers(o, path))
    });
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && names && urls
}

/// kube's `validation.Covers`: whether `owner` rules hold every permission of `servant`, and
/// the broken-down rules that are missing (deduplicated, in order).
pub fn covers(owner: &[PolicyRule], servant: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let mut missing: Vec<PolicyRule> = Vec::new();
    for rule in servant {
        for simple in breakdown(rule) {
            if !owner.iter().any(|o| rule_covers(o, &simple)) && !missing.contains(&simple) {
                missing.push(simple);
            }
        }
    }
    (missing.is_empty(), missing)
}

/// kube's escalation error text (ConfirmNoEscalation).
pub fn escalation_message(user: &UserInfo, missing: &[PolicyRule], errors: &[String]) -> String {
    let rules: Vec<String> = missing.iter().map(PolicyRule::compact_string).collect();
    let mut msg = format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quote(&user.name),
        go_quote_list(&user.groups),
        rules.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    msg
}

/// SelfSubjectRulesReview rules: resource rules and non-resource rules as
/// `authorization.k8s.io/v1` JSON.
pub fn rules_review_status(rules: &[PolicyRule], errors: &[String]) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for r in rules {
        if !r.resources.is_empty() {
            let mut v = json!({"verbs": r.verbs, "resources": r.resources});
            if !r.api_groups.is_empty() {
                v["apiGroups"] = json!(r.api_groups);
            }
            if !r.resource_names.is_empty() {
                v["resourceNames"] = json!(r.resource_names);
            }
            resource_rules.push(v);
        }
        if !r.non_resource_urls.is_empty() {
            non_resource_rules
                .push(json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}));
        }
    }
    let mut status = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": !errors.is_empty(),
    });
    if !errors.is_empty() {
        status["evaluationError"] = json!(errors.join(", "));
    }
    status
}
