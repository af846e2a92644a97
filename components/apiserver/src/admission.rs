//! Defaulting and validation of writes, delegating to apimachinery's rules.
//! TEMPORARY: no-ops until warren_apimachinery::{defaults, validation} land.

use serde_json::Value;
use warren_apimachinery::error::FieldError;

pub fn type_errors(_definition: &str, _obj: &Value) -> Vec<FieldError> {
    Vec::new()
}
pub fn unknown_fields(_definition: &str, _obj: &Value) -> Vec<String> {
    Vec::new()
}
pub fn normalize(_group: &str, _kind: &str, _obj: &mut Value) {}
pub fn apply_defaults(_group: &str, _kind: &str, _obj: &mut Value) {}
pub fn validate_create(
    _group: &str,
    _kind: &str,
    _obj: &Value,
    _namespaced: bool,
) -> Vec<FieldError> {
    Vec::new()
}
pub fn validate_update(
    _group: &str,
    _kind: &str,
    _obj: &Value,
    _old: &Value,
    _namespaced: bool,
) -> Vec<FieldError> {
    Vec::new()
}
