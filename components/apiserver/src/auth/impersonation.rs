//! Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-<key>`): the request runs as
//! another user when the requester may `impersonate` each requested attribute, as kube's
//! impersonation filter.

use std::collections::BTreeMap;

use http::HeaderMap;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::rbac::{self, Attributes, UserInfo};

use super::Auth;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";

fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// `%`-unescapes an extra key (kube escapes keys that are not valid header names).
fn unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&key[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the request asks to impersonate anything.
pub fn requested(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|k| k.as_str().starts_with("impersonate-"))
}

/// The user the request runs as: `requester` itself without impersonation headers, else the
/// impersonated user when every part of it is allowed.
pub fn apply(auth: &Auth, requester: UserInfo, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    if !requested(headers) {
        return Ok(requester);
    }
    let user = values(headers, USER).first().map(|s| s.to_string());
    let groups_asked: Vec<String> = values(headers, GROUP)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let uid = values(headers, UID).first().map(|s| s.to_string());
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX)
            && let Ok(v) = value.to_str()
        {
            extra.entry(unescape(key)).or_default().push(v.to_string());
        }
    }
    let Some(username) = user else {
        return Err(ApiError::internal(
            "requested impersonation of groups, uid or extra without impersonating a user",
        ));
    };
    let check = |attrs: Attributes| auth.authorize(&requester, &attrs);
    let mut groups = Vec::new();
    match rbac::service_account_of(&username) {
        Some((ns, name)) => {
            check(Attributes::resource(
                "impersonate",
                "",
                "serviceaccounts",
                "",
                ns,
                name,
            ))?;
            if groups_asked.is_empty() {
                groups.push(rbac::SYSTEM_SERVICEACCOUNTS.to_string());
                groups.push(format!("{}:{ns}", rbac::SYSTEM_SERVICEACCOUNTS));
            }
        }
        None => check(Attributes::resource(
            "impersonate",
            "",
            "users",
            "",
            "",
            &username,
        ))?,
    }
    for g in &groups_asked {
        check(Attributes::resource("impersonate", "", "groups", "", "", g))?;
        groups.push(g.clone());
    }
    for (key, vals) in &extra {
        for v in vals {
            check(Attributes::resource(
                "impersonate",
                "authentication.k8s.io",
                "userextras",
                key,
                "",
                v,
            ))?;
        }
    }
    if let Some(u) = &uid {
        check(Attributes::resource(
            "impersonate",
            "authentication.k8s.io",
            "uids",
            "",
            "",
            u,
        ))?;
    }
    if username == "system:anonymous" {
        if !groups.iter().any(|g| g == rbac::SYSTEM_UNAUTHENTICATED) {
            groups.push(rbac::SYSTEM_UNAUTHENTICATED.to_string());
        }
    } else if !groups
        .iter()
        .any(|g| g == rbac::SYSTEM_AUTHENTICATED || g == rbac::SYSTEM_UNAUTHENTICATED)
    {
        groups.push(rbac::SYSTEM_AUTHENTICATED.to_string());
    }
    Ok(UserInfo {
        name: username,
        uid: uid.unwrap_or_default(),
        groups,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_keys_unescape() {
        assert_eq!(unescape("example.com%2fscopes"), "example.com/scopes");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("bad%zz"), "bad%zz");
        assert_eq!(unescape("end%2"), "end%2");
    }
}
