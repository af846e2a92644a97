//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`) into the JSON
//! object kube-apiserver would hold for the same request.
//!
//! kubectl and client-go send typed objects (namespaces, deployments,
//! secrets, TokenRequests, SelfSubjectAccessReviews, ...) as protobuf and do
//! not retry with JSON on 415, so the server must understand them. Warren
//! stores JSON, so the body is converted once, here, and everything after
//! that sees JSON.
//!
//! Wire layout: the 4 bytes `k8s\0`, then a `runtime.Unknown` message:
//! `typeMeta` (1: apiVersion, 2: kind) = 1, `raw` (the typed message) = 2,
//! `contentEncoding` = 3, `contentType` = 4.
//!
//! Decoding is generic: a field table generated from the k8s-pb crate's
//! prost sources, k8s-openapi's schemas and the Go API types
//! (`table.json`, see `components/apimachinery/tools/protobuf-table`) drives
//! one wire-format walker. The JSON follows Go's encoder, which is what
//! kube-apiserver uses:
//! - absent fields stay absent; present ones are kept, except the zero value
//!   of a non-pointer `omitempty` Go field (Go's protobuf encoder always
//!   writes those, Go's JSON encoder always drops them — so `replicas: 0`,
//!   a `*int32`, survives while `generation: 0` does not);
//! - embedded `json:",inline"` structs (`Volume.volumeSource`,
//!   `Probe.handler`) are flattened into their parent;
//! - `Time` -> `"2024-01-02T03:04:05Z"` (empty -> `null`), `MicroTime` ->
//!   six fractional digits, `Duration` -> Go duration string, `Quantity`
//!   -> its string, `IntOrString` -> number or string, `RawExtension` /
//!   `FieldsV1` / CRD `JSON` -> the embedded JSON, other `bytes` -> base64,
//!   named Go slices (`ExtraValue`) -> arrays, the CRD `JSONSchemaPropsOr*`
//!   unions -> their Go JSON forms.

mod decode;
mod table;
mod wire;

#[cfg(test)]
mod tests;

use serde_json::Value;

use self::decode::Decoder;
use self::table::Table;
use self::wire::{Reader, WT_LEN, malformed};

/// Content type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Deepest message nesting accepted, so hostile input cannot exhaust the
/// stack.
pub const MAX_DEPTH: usize = 64;

#[derive(thiserror::Error, Debug)]
pub enum ProtobufError {
    #[error("protobuf body does not start with the Kubernetes magic prefix k8s\\0")]
    BadMagic,
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    #[error("protobuf envelope has no kind")]
    MissingKind,
    #[error("no protobuf schema for apiVersion {api_version:?}, kind {kind:?}")]
    UnknownType { api_version: String, kind: String },
    #[error("protobuf messages nested deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("unsupported protobuf content encoding {0:?}")]
    UnsupportedContentEncoding(String),
    #[error("unsupported content type {0:?} inside a protobuf envelope")]
    UnsupportedContentType(String),
    /// The embedded table is corrupt: a build defect, not a client error.
    #[error("protobuf table: {0}")]
    Table(String),
}

/// Decodes a full protobuf body (`k8s\0` + `runtime.Unknown`) into a JSON
/// object whose `apiVersion` and `kind` come from the envelope's typeMeta.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let decoder = Decoder {
        table: Table::get()?,
    };
    decode_envelope(&decoder, body, 1)
}

/// Decodes `raw`, a bare message of the type registered for
/// (`api_version`, `kind`), into JSON with `apiVersion` and `kind` set.
pub fn decode_typed(api_version: &str, kind: &str, raw: &[u8]) -> Result<Value, ProtobufError> {
    let decoder = Decoder {
        table: Table::get()?,
    };
    decode_typed_at(&decoder, api_version, kind, raw, 1)
}

/// Whether (`api_version`, `kind`) has a protobuf schema, e.g. to decide
/// between decoding and a 415 before reading a body.
pub fn is_known_kind(api_version: &str, kind: &str) -> bool {
    Table::get().is_ok_and(|t| t.kind(api_version, kind).is_some())
}

/// Decodes one message of the named protobuf type (e.g.
/// `k8s.io.api.core.v1.PodSpec`) without touching apiVersion/kind.
pub fn decode_message(proto_name: &str, raw: &[u8]) -> Result<Value, ProtobufError> {
    let table = Table::get()?;
    let idx = table
        .message_index(proto_name)
        .ok_or_else(|| ProtobufError::UnknownType {
            api_version: String::new(),
            kind: proto_name.to_string(),
        })?;
    Decoder { table }.message(idx, raw, 1)
}

fn decode_typed_at(
    decoder: &Decoder,
    api_version: &str,
    kind: &str,
    raw: &[u8],
    depth: usize,
) -> Result<Value, ProtobufError> {
    let idx = decoder
        .table
        .kind(api_version, kind)
        .ok_or_else(|| ProtobufError::UnknownType {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        })?;
    let value = decoder.message(idx, raw, depth)?;
    with_type_meta(value, api_version, kind)
}

fn with_type_meta(value: Value, api_version: &str, kind: &str) -> Result<Value, ProtobufError> {
    let Value::Object(mut obj) = value else {
        return Err(malformed(format!(
            "{api_version} {kind} did not decode to an object"
        )));
    };
    obj.insert("apiVersion".into(), Value::String(api_version.to_string()));
    obj.insert("kind".into(), Value::String(kind.to_string()));
    Ok(Value::Object(obj))
}

/// The `runtime.Unknown` envelope. Also reached recursively from a
/// `RawExtension` whose bytes are themselves a protobuf body (list items).
fn decode_envelope(decoder: &Decoder, body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep { limit: MAX_DEPTH });
    }
    let rest = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ProtobufError::BadMagic)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    let mut content_encoding = String::new();
    let mut content_type = String::new();
    let mut r = Reader::new(rest);
    while !r.is_empty() {
        let (tag, wire_type) = r.key()?;
        if !(1..=4).contains(&tag) {
            r.skip(wire_type, depth)?;
            continue;
        }
        if wire_type != WT_LEN {
            return Err(malformed(format!(
                "envelope field {tag}: wire type {wire_type}, expected 2"
            )));
        }
        let bytes = r.length_delimited()?;
        let text = || String::from_utf8_lossy(bytes).into_owned();
        match tag {
            1 => {
                // TypeMeta { apiVersion = 1; kind = 2 }; repeated occurrences merge.
                let mut tm = Reader::new(bytes);
                while !tm.is_empty() {
                    let (t, wt) = tm.key()?;
                    match (t, wt) {
                        (1 | 2, WT_LEN) => {
                            let s = String::from_utf8_lossy(tm.length_delimited()?).into_owned();
                            if t == 1 {
                                api_version = s;
                            } else {
                                kind = s;
                            }
                        }
                        (1 | 2, wt) => {
                            return Err(malformed(format!("typeMeta field {t}: wire type {wt}")));
                        }
                        (_, wt) => tm.skip(wt, depth + 1)?,
                    }
                }
            }
            2 => raw = bytes,
            3 => content_encoding = text(),
            _ => content_type = text(),
        }
    }
    if kind.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    if !content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedContentEncoding(content_encoding));
    }
    match content_type.as_str() {
        "" | CONTENT_TYPE => decode_typed_at(decoder, &api_version, &kind, raw, depth),
        // An Unknown may wrap JSON; keep it, with typeMeta from the envelope.
        "application/json" => {
            let value: Value = serde_json::from_slice(raw)
                .map_err(|e| malformed(format!("embedded JSON: {e}")))?;
            with_type_meta(value, &api_version, &kind)
        }
        other => Err(ProtobufError::UnsupportedContentType(other.to_string())),
    }
}

/// Number of (apiVersion, kind) pairs the table maps to messages.
pub fn known_kind_count() -> usize {
    Table::get().map(|t| t.kind_count()).unwrap_or(0)
}
