//! The JSONPath subset CRDs use in `additionalPrinterColumns`, `selectableFields` and scale
//! paths: `.spec.replicas`, `.metadata.labels.app`, `.items[0].name`, `.items[*].name`,
//! `['key.with.dots']` and filters such as `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    /// `[?(@.a.b == value)]`, `!=`, or `[?(@.a)]` (existence) when `op` is `None`.
    Filter {
        path: Vec<String>,
        op: Option<(bool, Value)>,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub steps: Vec<Step>,
}

impl JsonPath {
    /// Parses `.a.b[0]`; an optional surrounding `{…}` is accepted.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .unwrap_or(t);
        let chars: Vec<char> = t.chars().collect();
        if chars.is_empty() {
            return Err("empty path".into());
        }
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let mut name = String::new();
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        name.push(chars[i]);
                        i += 1;
                    }
                    if name.is_empty() {
                        if i == chars.len() && steps.is_empty() {
                            // `.` alone: the object itself
                            break;
                        }
                        return Err(format!("invalid path {text:?}: empty field name"));
                    }
                    if name == "*" {
                        steps.push(Step::Wildcard);
                    } else {
                        steps.push(Step::Field(name));
                    }
                }
                '[' => {
                    let close = find_close(&chars, i)
                        .ok_or_else(|| format!("invalid path {text:?}: unclosed ["))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    steps.push(bracket(inner.trim(), text)?);
                    i = close + 1;
                }
                c => return Err(format!("invalid path {text:?}: unexpected {c:?}")),
            }
        }
        Ok(JsonPath { steps })
    }

    /// Every value the path selects, in document order.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Field(name) => {
                        if let Some(x) = v.get(name.as_str()) {
                            next.push(x);
                        }
                    }
                    Step::Index(i) => {
                        if let Some(a) = v.as_array() {
                            let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                            if idx >= 0
                                && let Some(x) = a.get(idx as usize)
                            {
                                next.push(x);
                            }
                        }
                    }
                    Step::Wildcard => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Step::Filter { path, op } => {
                        let Some(a) = v.as_array() else {
                            continue;
                        };
                        for item in a {
                            let mut x = Some(item);
                            for p in path {
                                x = x.and_then(|x| x.get(p.as_str()));
                            }
                            let keep = match (x, op) {
                                (None, _) => false,
                                (Some(_), None) => true,
                                (Some(x), Some((eq, want))) => (values_equal(x, want)) == *eq,
                            };
                            if keep {
                                next.push(item);
                            }
                        }
                    }
                }
            }
            current = next;
        }
        current
    }

    /// The dotted field path when the path only names fields (`spec.replicas`).
    pub fn simple_fields(&self) -> Option<Vec<&str>> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Field(f) => Some(f.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if *c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(*c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return Some(inner.to_string());
        }
    }
    None
}

fn literal(s: &str) -> Result<Value, String> {
    if let Some(text) = unquote(s) {
        return Ok(Value::String(text));
    }
    match s.trim() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" | "nil" => Ok(Value::Null),
        n => serde_json::from_str::<serde_json::Number>(n)
            .map(Value::Number)
            .map_err(|_| format!("unrecognized literal {n:?}")),
    }
}

fn bracket(inner: &str, text: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|r| r.strip_suffix(')')) {
        let f = f.trim();
        let (lhs, op) = if let Some((l, r)) = f.split_once("==") {
            (l, Some((true, literal(r)?)))
        } else if let Some((l, r)) = f.split_once("!=") {
            (l, Some((false, literal(r)?)))
        } else {
            (f, None)
        };
        let lhs = lhs.trim();
        let rest = lhs
            .strip_prefix('@')
            .ok_or_else(|| format!("invalid path {text:?}: filter must start with @"))?;
        let path: Vec<String> = rest
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        return Ok(Step::Filter { path, op });
    }
    if let Some(name) = unquote(inner) {
        return Ok(Step::Field(name));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("invalid path {text:?}: unsupported [{inner}]"))
}

/// A value as Go's `fmt.Sprint` prints a decoded JSON value (what jsonpath's text output and
/// `string` printer columns show): `map[a:1 b:x]`, `[1 2]`, `<nil>`.
pub fn go_text(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => crate::structural::go_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_filters() {
        let obj = json!({
            "spec": {"replicas": 3, "labels": {"a.b/c": "x"}, "items": [{"n": 1}, {"n": 2}]},
            "status": {"conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]},
        });
        let p = |s: &str| JsonPath::parse(s).expect(s);
        assert_eq!(p(".spec.replicas").find(&obj), vec![&json!(3)]);
        assert_eq!(p(".spec.labels['a.b/c']").find(&obj), vec![&json!("x")]);
        assert_eq!(p(".spec.items[1].n").find(&obj), vec![&json!(2)]);
        assert_eq!(p(".spec.items[-1].n").find(&obj), vec![&json!(2)]);
        assert_eq!(p(".spec.items[*].n").find(&obj), vec![&json!(1), &json!(2)]);
        assert_eq!(
            p(r#".status.conditions[?(@.type=="Ready")].status"#).find(&obj),
            vec![&json!("True")]
        );
        assert_eq!(
            p(".status.conditions[?(@.type != 'Ready')].type").find(&obj),
            vec![&json!("Synced")]
        );
        assert!(p(".spec.nothing").find(&obj).is_empty());
        assert_eq!(
            p(".spec.replicas").simple_fields(),
            Some(vec!["spec", "replicas"])
        );
        assert!(JsonPath::parse(".spec[").is_err());
        assert!(JsonPath::parse("spec").is_err());
        assert_eq!(
            go_text(&json!({"b": [1, 2.5], "a": null})),
            "map[a:<nil> b:[1 2.5]]"
        );
    }
}
