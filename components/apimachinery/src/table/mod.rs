//! Server-side printing: `meta.k8s.io/v1` `Table` responses (`Accept: application/json;as=Table`)
//! with the columns and cells of kube-apiserver 1.33's printers.
//!
//! kube-apiserver always generates the wide (`-o wide`) cells; columns with `priority: 1` are
//! the ones `kubectl` shows only with `-o wide`. Kinds without a printer get the default
//! table (`Name`, `Created At`); custom resources without `additionalPrinterColumns` get
//! [`custom_resource_table`] (`Name`, `Age`).

pub mod duration;
mod printers;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub use duration::{human_duration, since};

use printers::{O, Printer};

/// What each row's `object` holds (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No `object`.
    None,
    /// A `meta.k8s.io/v1` `PartialObjectMetadata` with the object's `metadata` (kube's default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter; empty means [`IncludeObject::Metadata`].
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "None" => Some(Self::None),
            "" | "Metadata" => Some(Self::Metadata),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// A `metav1.TableColumnDefinition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column header, e.g. `Ready`.
    pub name: &'static str,
    /// The OpenAPI type of the cells: `string`, `integer`, `boolean`, `date`, ...
    pub ty: &'static str,
    /// The OpenAPI format (`name` for the name column).
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0 for the default columns, 1 for the `-o wide` ones.
    pub priority: i32,
}

impl Column {
    /// The column definition as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The columns kube-apiserver prints for `group`/`kind` (the default table's otherwise).
pub fn columns_for(group: &str, kind: &str) -> &'static [Column] {
    printer_for(group, kind).columns
}

/// One object's cells, in the order of [`columns_for`].
pub fn cells_for(group: &str, kind: &str, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
    (printer_for(group, kind).cells)(O(object), now)
}

/// A `meta.k8s.io/v1` `Table` of `objects` (all of `group`/`kind`) as kube-apiserver 1.33
/// prints them at `now`. `metadata` is left empty for the caller to fill
/// (`resourceVersion`, `continue`).
pub fn table_for(
    group: &str,
    kind: &str,
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    build(
        printer_for(group, kind),
        (group, kind),
        objects,
        include_object,
        now,
    )
}

/// The `Table` of custom resources whose CRD version declares no `additionalPrinterColumns`:
/// `Name` and `Age` (a `date` column; `null` when the object has no creation time).
pub fn custom_resource_table(
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    build(
        printers::CUSTOM_RESOURCE,
        ("", ""),
        objects,
        include_object,
        now,
    )
}

fn printer_for(group: &str, kind: &str) -> Printer {
    printers::printer(group, kind).unwrap_or(printers::DEFAULT)
}

fn build(
    printer: Printer,
    (group, kind): (&str, &str),
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let columns: Vec<Value> = printer.columns.iter().map(Column::to_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = Map::new();
            row.insert(
                "cells".into(),
                Value::Array((printer.cells)(O(object), now)),
            );
            if let Some(conditions) = printers::row_conditions(group, kind, O(object)) {
                row.insert("conditions".into(), conditions);
            }
            match include_object {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row.insert("object".into(), partial_object_metadata(object));
                }
                IncludeObject::Object => {
                    row.insert("object".into(), object.clone());
                }
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// The object's `metadata` as a `meta.k8s.io/v1` `PartialObjectMetadata`.
pub fn partial_object_metadata(object: &Value) -> Value {
    let metadata = object
        .get("metadata")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}
