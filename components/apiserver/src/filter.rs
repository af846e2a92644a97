//! The label/field selector filter of a list, watch or deletecollection request.

use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::Resource;
use warren_apimachinery::selector::{FieldSelector, LabelSelector};

use crate::request::Query;

#[derive(Debug, Clone)]
pub struct ListFilter {
    group: String,
    kind: String,
    label: LabelSelector,
    field: FieldSelector,
    exact_name: Option<String>,
}

impl ListFilter {
    /// Parses `labelSelector` and `fieldSelector`; a bad selector or an unsupported field is a
    /// 400, as in kube.
    pub fn from_query(res: &Resource, query: &Query) -> Result<ListFilter, ApiError> {
        let label = match query.get("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => LabelSelector::everything(),
        };
        let field = match query.get("fieldSelector") {
            Some(s) => {
                let f =
                    FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
                f.validate(&res.group, &res.kind)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                f
            }
            None => FieldSelector::everything(),
        };
        let exact_name = field
            .requires_exact_match("metadata.name")
            .map(str::to_string);
        Ok(ListFilter {
            group: res.group.clone(),
            kind: res.kind.clone(),
            label,
            field,
            exact_name,
        })
    }

    pub fn everything(res: &Resource) -> ListFilter {
        ListFilter {
            group: res.group.clone(),
            kind: res.kind.clone(),
            label: LabelSelector::everything(),
            field: FieldSelector::everything(),
            exact_name: None,
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.label.matches_object(obj)
            && self
                .field
                .matches(&self.group, &self.kind, obj)
                .unwrap_or(false)
    }

    /// The name a `metadata.name=<x>` field selector pins, which allows a key lookup.
    pub fn exact_name(&self) -> Option<&str> {
        self.exact_name.as_deref()
    }

    pub fn disable_exact_name(&mut self) {
        self.exact_name = None;
    }

    pub fn is_everything(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }
}
