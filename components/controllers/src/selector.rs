//! Label selectors (metav1.LabelSelector as labels.Selector).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A parsed selector: every requirement must hold. An empty selector matches everything; a
/// missing one ([`Selector::nothing`]) matches nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    reqs: Vec<Req>,
    nothing: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Req {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Selector {
    pub fn nothing() -> Selector {
        Selector {
            reqs: Vec::new(),
            nothing: true,
        }
    }

    /// From a map (ReplicationController's selector; equality on each pair).
    pub fn from_map(m: &BTreeMap<String, String>) -> Selector {
        Selector {
            reqs: m
                .iter()
                .map(|(k, v)| Req::In(k.clone(), vec![v.clone()]))
                .collect(),
            nothing: false,
        }
    }

    /// LabelSelectorAsSelector; an unknown operator is an error.
    pub fn from_label_selector(s: &LabelSelector) -> Result<Selector, String> {
        let mut reqs: Vec<Req> = s
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| Req::In(k.clone(), vec![v.clone()]))
            .collect();
        for e in s.match_expressions.iter().flatten() {
            let vals = e.values.clone().unwrap_or_default();
            reqs.push(match e.operator.as_str() {
                "In" => Req::In(e.key.clone(), vals),
                "NotIn" => Req::NotIn(e.key.clone(), vals),
                "Exists" => Req::Exists(e.key.clone()),
                "DoesNotExist" => Req::DoesNotExist(e.key.clone()),
                op => return Err(format!("{op:?} is not a valid label selector operator")),
            });
        }
        Ok(Selector {
            reqs,
            nothing: false,
        })
    }

    pub fn is_empty(&self) -> bool {
        !self.nothing && self.reqs.is_empty()
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches_labels(|k| labels.and_then(|l| l.get(k)).map(String::as_str))
    }

    /// [`Selector::matches`] for labels held in another form: `get` looks one up by key.
    pub fn matches_labels<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        if self.nothing {
            return false;
        }
        self.reqs.iter().all(|r| match r {
            Req::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Req::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Req::Exists(k) => get(k).is_some(),
            Req::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matching() {
        let s = Selector::from_label_selector(&LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["db".into()]),
            }]),
        })
        .expect("valid");
        assert!(s.matches(Some(&labels(&[("app", "web")]))));
        assert!(s.matches(Some(&labels(&[("app", "web"), ("tier", "fe")]))));
        assert!(!s.matches(Some(&labels(&[("app", "web"), ("tier", "db")]))));
        assert!(!s.matches(None));
        assert!(!Selector::nothing().matches(Some(&labels(&[]))));
        assert!(Selector::from_map(&BTreeMap::new()).matches(None));
    }
}
