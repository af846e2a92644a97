//! String-format validators with the exact messages of
//! k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsQualifiedName, …): each returns the
//! list of problems, empty when the value is fine.

const LABEL_MAX: usize = 63;
const SUBDOMAIN_MAX: usize = 253;

/// `must be no more than N characters`.
pub fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// Go's validation.RegexError: the message, examples and the regex.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let quoted: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        quoted.join(" or ")
    )
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Non-empty, every char allowed, first and last char an `edge` char.
fn shaped(s: &str, allowed: impl Fn(char) -> bool, first: impl Fn(char) -> bool) -> bool {
    let (Some(a), Some(z)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    first(a) && z.is_ascii_alphanumeric() && s.chars().all(allowed)
}

fn label_shape(s: &str) -> bool {
    shaped(s, |c| is_lower_alnum(c) || c == '-', is_lower_alnum)
}

fn with_len(value: &str, max: usize, ok: bool, msg: impl FnOnce() -> String) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > max {
        errs.push(max_len_error(max));
    }
    if !ok {
        errs.push(msg());
    }
    errs
}

pub const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

/// IsDNS1123Label.
pub fn dns1123_label(value: &str) -> Vec<String> {
    with_len(value, LABEL_MAX, label_shape(value), || {
        regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        )
    })
}

fn subdomain_shape(value: &str) -> bool {
    value.split('.').all(label_shape)
}

/// IsDNS1123Subdomain.
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    with_len(value, SUBDOMAIN_MAX, subdomain_shape(value), || {
        regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        )
    })
}

/// IsWildcardDNS1123Subdomain (`*.example.com`).
pub fn wildcard_dns1123_subdomain(value: &str) -> Vec<String> {
    let ok = value.strip_prefix("*.").is_some_and(subdomain_shape);
    with_len(value, SUBDOMAIN_MAX, ok, || {
        regex_error(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
            "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["*.example.com"],
        )
    })
}

/// IsDNS1035Label (Service names).
pub fn dns1035_label(value: &str) -> Vec<String> {
    let ok = label_shape(value) && value.starts_with(|c: char| c.is_ascii_lowercase());
    with_len(value, LABEL_MAX, ok, || {
        regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        )
    })
}

/// IsQualifiedName: label keys, annotation keys, finalizers.
pub fn qualified_name(value: &str) -> Vec<String> {
    crate::selector::label::is_qualified_name(value)
}

/// IsValidLabelValue.
pub fn label_value(value: &str) -> Vec<String> {
    crate::selector::label::is_valid_label_value(value)
}

/// IsConfigMapKey (ConfigMap and Secret data keys).
pub fn config_map_key(value: &str) -> Vec<String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let mut errs = with_len(value, SUBDOMAIN_MAX, ok, || {
        regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        )
    });
    match value {
        "." => errs.push("must not be '.'".into()),
        ".." => errs.push("must not be '..'".into()),
        v if v.starts_with("..") => errs.push("must not start with '..'".into()),
        _ => {}
    }
    errs
}

/// IsValidPortName (IANA_SVC_NAME).
pub fn port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty() || !port.chars().all(|c| is_lower_alnum(c) || c == '-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !port.chars().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// InclusiveRangeError.
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// IsValidPortNum.
pub fn port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// path.IsValidPathSegmentName (RBAC and event names); `prefix` for generateName.
pub fn path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    let mut errs = Vec::new();
    if !prefix {
        for bad in [".", ".."] {
            if name == bad {
                errs.push(format!("may not be '{bad}'"));
            }
        }
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            errs.push(format!("may not contain '{bad}'"));
        }
    }
    errs
}

/// IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on by default since 1.32).
pub fn env_var_name(value: &str) -> Vec<String> {
    if value.is_empty() {
        return vec!["environment variable name must be non-empty".into()];
    }
    if value.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        return vec![
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .into(),
        ];
    }
    Vec::new()
}

/// Whether `value` is an IPv4 or IPv6 address.
pub fn is_ip(value: &str) -> bool {
    value.parse::<std::net::IpAddr>().is_ok()
}

/// IsValidIP's message.
pub const IP_ERROR: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/// Whether `value` is a CIDR (`10.0.0.0/8`, `fd00::/64`).
pub fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else {
        return false;
    };
    let max = match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    bits.parse::<u8>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
}

/// Object-name validators (apimachinery's ValidateNameFunc): `prefix` is true for generateName,
/// whose trailing dash is masked like kube's maskTrailingDash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Subdomain,
    Label,
    Dns1035,
    PathSegment,
}

impl NameRule {
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name =
            if prefix && self != NameRule::PathSegment && name.len() > 1 && name.ends_with('-') {
                let mut m = name.to_string();
                m.pop();
                m.pop();
                m.push('a');
                masked = m;
                masked.as_str()
            } else {
                name
            };
        match self {
            NameRule::Subdomain => dns1123_subdomain(name),
            NameRule::Label => dns1123_label(name),
            NameRule::Dns1035 => dns1035_label(name),
            NameRule::PathSegment => path_segment_name(name, prefix),
        }
    }
}

/// IsValidPercent (`25%`).
pub fn percent(value: &str) -> Vec<String> {
    let ok = value
        .strip_suffix('%')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%",
            &["1%", "93%"],
        )]
    }
}
