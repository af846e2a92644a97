//! `/openapi/v2` as protobuf: the gnostic `openapi_v2.Document` message
//! (`github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto`), which is the only form of the
//! v2 document client-go's `DiscoveryClient.OpenAPISchema` asks for. kubectl 1.32 needs it for
//! client-side validation whenever the v3 `fieldValidation` probe finds no PATCH operation for the
//! object's kind — always the case for a `kind: List` file (`kubectl create -f list.yaml`), whose
//! items it then checks against these schemas.
//!
//! [`encode`] first reshapes warren's document into swagger 2.0 ([`swagger2`]: request bodies
//! become `in: body` parameters plus `consumes`, response `content` becomes `schema` plus
//! `produces`, query parameters carry their type directly, `allOf: [{$ref}]` wrappers become plain
//! `$ref`s as kube publishes them in v2) and then maps it onto the messages the way gnostic's
//! `ParseDocument` does, so `proto.Unmarshal` + kube-openapi's `NewOpenAPIData` read it like the
//! document of a real apiserver. Vendor extensions (`x-…`) become `NamedAny`s whose `yaml` holds
//! the value in block-style YAML, as gnostic writes them.
//!
//! The wire encoding is hand-written (proto3: zero scalars are omitted, sub-messages that are
//! present in the JSON are always written, oneof members always).

use serde_json::{Map, Value};

/// The media type kube-apiserver answers with for the protobuf form (both accepted spellings
/// get this one). The `@` spelling clients send in `Accept` is not a valid media type for Go's
/// `mime.ParseMediaType` — client-go would fail to read a response labelled with it.
pub const CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

const SUBTYPE_PROTOBUF: &str = "com.github.proto-openapi.spec.v2.v1.0+protobuf";
const SUBTYPE_PROTOBUF_DEPRECATED: &str = "com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The representations `/openapi/v2` is served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Protobuf,
}

/// Picks the representation for an `Accept` header the way kube-openapi's handler does: clauses
/// by descending `q`, the first one matching JSON or either protobuf spelling wins (`*/*` and
/// `application/*` mean JSON). `None` when nothing matches (406).
pub fn negotiate(accept: Option<&str>) -> Option<Format> {
    let accept = accept
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("*/*");
    let mut clauses: Vec<(f32, &str, &str)> = Vec::new();
    for clause in accept.split(',') {
        let mut parts = clause.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim() == "q"
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let Some((ty, sub)) = media.split_once('/') else {
            continue;
        };
        if q > 0.0 {
            clauses.push((q, ty.trim(), sub.trim()));
        }
    }
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0));
    clauses.into_iter().find_map(|(_, ty, sub)| {
        let (ty, sub) = (ty.to_ascii_lowercase(), sub.to_ascii_lowercase());
        if ty != "application" && ty != "*" {
            return None;
        }
        if sub == "json" || sub == "*" {
            Some(Format::Json)
        } else if sub == SUBTYPE_PROTOBUF || sub == SUBTYPE_PROTOBUF_DEPRECATED {
            Some(Format::Protobuf)
        } else {
            None
        }
    })
}

/// The protobuf `openapi_v2.Document` for warren's `/openapi/v2` JSON document.
pub fn encode(doc: &Value) -> Vec<u8> {
    encode_document(&swagger2(doc))
}

// ---------------------------------------------------------------------------------------------
// swagger 2.0 shape

const OPERATIONS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Keys a v3-style parameter `schema` contributes to a swagger 2.0 non-body parameter.
const PARAMETER_SCHEMA_KEYS: [&str; 16] = [
    "type",
    "format",
    "items",
    "collectionFormat",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
];

/// Reshapes the OpenAPI-3-flavoured parts of `doc` (request bodies, response content, parameter
/// schemas, `allOf` ref wrappers) into their swagger 2.0 form. Swagger 2.0 input passes through.
pub fn swagger2(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            if let Some(params) = item.get_mut("parameters").and_then(Value::as_array_mut) {
                params.iter_mut().for_each(parameter2);
            }
            for method in OPERATIONS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    operation2(op);
                }
            }
        }
    }
    if let Some(defs) = doc.get_mut("definitions").and_then(Value::as_object_mut) {
        defs.values_mut().for_each(schema2);
    }
    if let Some(params) = doc.get_mut("parameters").and_then(Value::as_object_mut) {
        params.values_mut().for_each(parameter2);
    }
    if let Some(responses) = doc.get_mut("responses").and_then(Value::as_object_mut) {
        for r in responses.values_mut() {
            response2(r, &mut Vec::new());
        }
    }
    doc
}

fn operation2(op: &mut Map<String, Value>) {
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        params.iter_mut().for_each(parameter2);
    }
    if let Some(body) = op.remove("requestBody") {
        let content = body.get("content").and_then(Value::as_object);
        let types: Vec<Value> = content
            .map(|c| c.keys().map(|k| Value::String(k.clone())).collect())
            .unwrap_or_default();
        let schema = content.and_then(|c| {
            c.get("application/json")
                .or_else(|| c.values().next())
                .and_then(|m| m.get("schema"))
                .cloned()
        });
        let mut param = Map::new();
        param.insert("name".into(), "body".into());
        param.insert("in".into(), "body".into());
        if let Some(d) = body.get("description") {
            param.insert("description".into(), d.clone());
        }
        if let Some(r) = body.get("required") {
            param.insert("required".into(), r.clone());
        }
        if let Some(mut s) = schema {
            schema2(&mut s);
            param.insert("schema".into(), s);
        }
        if let Some(params) = op
            .entry("parameters")
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
        {
            params.push(Value::Object(param));
        }
        if !types.is_empty() && !op.contains_key("consumes") {
            op.insert("consumes".into(), Value::Array(types));
        }
    }
    let mut produces = Vec::new();
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for (code, r) in responses.iter_mut() {
            if !code.starts_with("x-") {
                response2(r, &mut produces);
            }
        }
    }
    if !produces.is_empty() && !op.contains_key("produces") {
        op.insert("produces".into(), Value::Array(produces));
    }
}

/// A v3 response (`content: {type: {schema}}`) as swagger 2.0 (`schema`), collecting its media
/// types into `produces`.
fn response2(r: &mut Value, produces: &mut Vec<Value>) {
    let Some(r) = r.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(c)) = r.remove("content") {
        for t in c.keys() {
            let t = Value::String(t.clone());
            if !produces.contains(&t) {
                produces.push(t);
            }
        }
        let schema = c
            .get("application/json")
            .or_else(|| c.values().next())
            .and_then(|m| m.get("schema"));
        if let Some(s) = schema
            && !r.contains_key("schema")
        {
            r.insert("schema".into(), s.clone());
        }
    }
    if let Some(s) = r.get_mut("schema") {
        schema2(s);
    }
}

/// A non-body parameter with a v3 `schema` gets the schema's type keys itself.
fn parameter2(p: &mut Value) {
    let Some(p) = p.as_object_mut() else {
        return;
    };
    if p.get("in").and_then(Value::as_str) == Some("body") {
        if let Some(s) = p.get_mut("schema") {
            schema2(s);
        }
        return;
    }
    let Some(Value::Object(schema)) = p.remove("schema") else {
        return;
    };
    for key in PARAMETER_SCHEMA_KEYS {
        if let Some(v) = schema.get(key)
            && !p.contains_key(key)
        {
            p.insert(key.into(), v.clone());
        }
    }
}

/// `{allOf: [{$ref: X}], description, …}` (how kube's v3 attaches a description to a ref) as
/// `{$ref: X, description, …}`, recursively. kube-openapi's v2 parser reads an `allOf` schema
/// as "anything", which would switch off kubectl's validation below it.
fn schema2(s: &mut Value) {
    let Some(m) = s.as_object_mut() else {
        return;
    };
    let single_ref = match m.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => only
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("$ref"))
            .cloned(),
        _ => None,
    };
    if let Some(r) = single_ref
        && !m.contains_key("$ref")
        && !m.contains_key("type")
        && !m.contains_key("properties")
    {
        m.remove("allOf");
        m.insert("$ref".into(), r);
    }
    if let Some(props) = m.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(schema2);
    }
    match m.get_mut("items") {
        Some(Value::Array(a)) => a.iter_mut().for_each(schema2),
        Some(i) => schema2(i),
        None => {}
    }
    if let Some(ap) = m.get_mut("additionalProperties") {
        schema2(ap);
    }
    if let Some(all) = m.get_mut("allOf").and_then(Value::as_array_mut) {
        all.iter_mut().for_each(schema2);
    }
}

// ---------------------------------------------------------------------------------------------
// protobuf wire format

const WT_VARINT: u64 = 0;
const WT_FIXED64: u64 = 1;
const WT_LEN: u64 = 2;

/// One message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u64) {
        self.varint((u64::from(field) << 3) | wire_type);
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, WT_LEN);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A present sub-message (written even when empty: presence is meaningful).
    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }

    /// A proto3 `string`: omitted when empty.
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    /// A proto3 `bool`: omitted when false.
    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, WT_VARINT);
            self.varint(1);
        }
    }

    /// A proto3 `int64`: omitted when zero (negative values take ten bytes, as in Go).
    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, WT_VARINT);
            self.varint(v as u64);
        }
    }

    /// A proto3 `double`: omitted when +0.0.
    fn double(&mut self, field: u32, v: f64) {
        if v.to_bits() != 0 {
            self.key(field, WT_FIXED64);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    // JSON-reading helpers: each writes field `field` from `obj[key]` if present.

    fn str_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(s) = obj.get(key).and_then(Value::as_str) {
            self.string(field, s);
        }
    }

    fn bool_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(b) = obj.get(key).and_then(Value::as_bool) {
            self.bool(field, b);
        }
    }

    fn int64_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(n) = obj.get(key).and_then(Value::as_number) {
            let v = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64));
            self.int64(field, v.unwrap_or_default());
        }
    }

    fn double_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(v) = obj.get(key).and_then(Value::as_f64) {
            self.double(field, v);
        }
    }

    /// `repeated string` from a JSON array of strings.
    fn strings_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        for s in obj
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.bytes(field, s.as_bytes());
        }
    }

    /// `Any` (yaml) from any JSON value.
    fn any_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        if let Some(v) = obj.get(key) {
            self.message(field, any(v));
        }
    }

    /// `repeated Any` from a JSON array.
    fn anys_of(&mut self, field: u32, obj: &Map<String, Value>, key: &str) {
        for v in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
            self.message(field, any(v));
        }
    }

    /// A sub-message built from `obj[key]` when it is a JSON object.
    fn object_of(
        &mut self,
        field: u32,
        obj: &Map<String, Value>,
        key: &str,
        build: impl Fn(&Map<String, Value>) -> Msg,
    ) {
        if let Some(o) = obj.get(key).and_then(Value::as_object) {
            self.message(field, build(o));
        }
    }

    /// `repeated NamedAny vendor_extension`: every `x-` key, in order.
    fn vendor_extensions(&mut self, field: u32, obj: &Map<String, Value>) {
        for (k, v) in obj {
            if k.starts_with("x-") {
                let mut named = Msg::default();
                named.string(1, k);
                named.message(2, any(v));
                self.message(field, named);
            }
        }
    }
}

/// A `Named*` pair message: `name = 1`, `value = 2`.
fn named(name: &str, value: Msg) -> Msg {
    let mut m = Msg::default();
    m.string(1, name);
    m.message(2, value);
    m
}

// ---------------------------------------------------------------------------------------------
// gnostic openapi_v2 messages

/// `Any { google.protobuf.Any value = 1; string yaml = 2; }` — only the YAML is filled, as by
/// gnostic for values without a registered extension handler.
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string(2, &yaml(v));
    m
}

fn encode_document(doc: &Value) -> Vec<u8> {
    let Some(d) = doc.as_object() else {
        return Vec::new();
    };
    let mut m = Msg::default();
    m.str_of(1, d, "swagger");
    m.object_of(2, d, "info", info);
    m.str_of(3, d, "host");
    m.str_of(4, d, "basePath");
    m.strings_of(5, d, "schemes");
    m.strings_of(6, d, "consumes");
    m.strings_of(7, d, "produces");
    m.object_of(8, d, "paths", paths);
    m.object_of(9, d, "definitions", |o| named_map(o, schema));
    m.object_of(10, d, "parameters", |o| named_map(o, parameter));
    m.object_of(11, d, "responses", |o| named_map(o, response));
    for t in d
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = t.as_object() {
            m.message(14, tag(t));
        }
    }
    m.object_of(15, d, "externalDocs", external_docs);
    m.vendor_extensions(16, d);
    m.0
}

/// `Definitions`, `ParameterDefinitions`, `ResponseDefinitions`, `Properties`: `repeated
/// Named<T> additional_properties = 1`.
fn named_map(o: &Map<String, Value>, build: fn(&Map<String, Value>) -> Msg) -> Msg {
    let mut m = Msg::default();
    for (k, v) in o {
        if let Some(v) = v.as_object() {
            m.message(1, named(k, build(v)));
        }
    }
    m
}

fn info(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "title");
    m.str_of(2, o, "version");
    m.str_of(3, o, "description");
    m.str_of(4, o, "termsOfService");
    m.object_of(5, o, "contact", |c| {
        let mut m = Msg::default();
        m.str_of(1, c, "name");
        m.str_of(2, c, "url");
        m.str_of(3, c, "email");
        m.vendor_extensions(4, c);
        m
    });
    m.object_of(6, o, "license", |l| {
        let mut m = Msg::default();
        m.str_of(1, l, "name");
        m.str_of(2, l, "url");
        m.vendor_extensions(3, l);
        m
    });
    m.vendor_extensions(7, o);
    m
}

fn external_docs(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "description");
    m.str_of(2, o, "url");
    m.vendor_extensions(3, o);
    m
}

fn tag(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "name");
    m.str_of(2, o, "description");
    m.object_of(3, o, "externalDocs", external_docs);
    m.vendor_extensions(4, o);
    m
}

/// `Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }`
fn paths(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.vendor_extensions(1, o);
    for (k, v) in o {
        if let (false, Some(item)) = (k.starts_with("x-"), v.as_object()) {
            m.message(2, named(k, path_item(item)));
        }
    }
    m
}

fn path_item(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "$ref");
    // get = 2, put = 3, post = 4, delete = 5, options = 6, head = 7, patch = 8
    for (field, method) in (2..).zip(OPERATIONS) {
        m.object_of(field, o, method, operation);
    }
    parameters(&mut m, 9, o);
    m.vendor_extensions(10, o);
    m
}

fn operation(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.strings_of(1, o, "tags");
    m.str_of(2, o, "summary");
    m.str_of(3, o, "description");
    m.object_of(4, o, "externalDocs", external_docs);
    m.str_of(5, o, "operationId");
    m.strings_of(6, o, "produces");
    m.strings_of(7, o, "consumes");
    parameters(&mut m, 8, o);
    m.object_of(9, o, "responses", responses);
    m.strings_of(10, o, "schemes");
    m.bool_of(11, o, "deprecated");
    m.vendor_extensions(13, o);
    m
}

/// `repeated ParametersItem` (oneof `Parameter parameter = 1`, `JsonReference json_reference =
/// 2`).
fn parameters(m: &mut Msg, field: u32, o: &Map<String, Value>) {
    for p in o
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = p.as_object() else {
            continue;
        };
        let mut item = Msg::default();
        if p.contains_key("$ref") {
            item.message(2, json_reference(p));
        } else {
            item.message(1, parameter(p));
        }
        m.message(field, item);
    }
}

fn json_reference(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "$ref");
    m.str_of(2, o, "description");
    m
}

/// `Parameter`: oneof `BodyParameter body_parameter = 1`, `NonBodyParameter
/// non_body_parameter = 2` (itself a oneof by `in`: header = 1, formData = 2, query = 3,
/// path = 4).
fn parameter(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    let location = o.get("in").and_then(Value::as_str).unwrap_or_default();
    if location == "body" {
        let mut b = Msg::default();
        b.str_of(1, o, "description");
        b.str_of(2, o, "name");
        b.str_of(3, o, "in");
        b.bool_of(4, o, "required");
        b.object_of(5, o, "schema", schema);
        b.vendor_extensions(6, o);
        m.message(1, b);
        return m;
    }
    // The sub-schemas share a layout; query and formData have `allow_empty_value = 5` and so
    // number everything after `name` one higher than header and path.
    let (kind, allow_empty) = match location {
        "header" => (1, false),
        "formData" => (2, true),
        "path" => (4, false),
        _ => (3, true),
    };
    let mut s = Msg::default();
    s.bool_of(1, o, "required");
    s.str_of(2, o, "in");
    s.str_of(3, o, "description");
    s.str_of(4, o, "name");
    if allow_empty {
        s.bool_of(5, o, "allowEmptyValue");
    }
    let base = if allow_empty { 6 } else { 5 };
    primitive_fields(&mut s, base, o);
    s.vendor_extensions(base + 17, o);
    let mut non_body = Msg::default();
    non_body.message(kind, s);
    m.message(2, non_body);
    m
}

/// The run of fields `type … multiple_of` shared by the parameter sub-schemas, `Header` and
/// `PrimitivesItems`, starting at field number `base`.
fn primitive_fields(m: &mut Msg, base: u32, o: &Map<String, Value>) {
    m.str_of(base, o, "type");
    m.str_of(base + 1, o, "format");
    m.object_of(base + 2, o, "items", primitives_items);
    m.str_of(base + 3, o, "collectionFormat");
    m.any_of(base + 4, o, "default");
    m.double_of(base + 5, o, "maximum");
    m.bool_of(base + 6, o, "exclusiveMaximum");
    m.double_of(base + 7, o, "minimum");
    m.bool_of(base + 8, o, "exclusiveMinimum");
    m.int64_of(base + 9, o, "maxLength");
    m.int64_of(base + 10, o, "minLength");
    m.str_of(base + 11, o, "pattern");
    m.int64_of(base + 12, o, "maxItems");
    m.int64_of(base + 13, o, "minItems");
    m.bool_of(base + 14, o, "uniqueItems");
    m.anys_of(base + 15, o, "enum");
    m.double_of(base + 16, o, "multipleOf");
}

fn primitives_items(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    primitive_fields(&mut m, 1, o);
    m.vendor_extensions(18, o);
    m
}

/// `Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny
/// vendor_extension = 2; }`
fn responses(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    for (code, r) in o {
        if let (false, Some(r)) = (code.starts_with("x-"), r.as_object()) {
            // ResponseValue: oneof Response response = 1, JsonReference json_reference = 2
            let mut value = Msg::default();
            if r.contains_key("$ref") {
                value.message(2, json_reference(r));
            } else {
                value.message(1, response(r));
            }
            m.message(1, named(code, value));
        }
    }
    m.vendor_extensions(2, o);
    m
}

fn response(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "description");
    // SchemaItem: oneof Schema schema = 1, FileSchema file_schema = 2
    m.object_of(2, o, "schema", |s| {
        let mut item = Msg::default();
        if s.get("type").and_then(Value::as_str) == Some("file") {
            item.message(2, file_schema(s));
        } else {
            item.message(1, schema(s));
        }
        item
    });
    m.object_of(3, o, "headers", |h| named_map(h, header));
    m.object_of(4, o, "examples", |e| {
        let mut m = Msg::default();
        for (k, v) in e {
            m.message(1, named(k, any(v)));
        }
        m
    });
    m.vendor_extensions(5, o);
    m
}

fn header(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    primitive_fields(&mut m, 1, o);
    m.str_of(18, o, "description");
    m.vendor_extensions(19, o);
    m
}

fn file_schema(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "format");
    m.str_of(2, o, "title");
    m.str_of(3, o, "description");
    m.any_of(4, o, "default");
    m.strings_of(5, o, "required");
    m.str_of(6, o, "type");
    m.bool_of(7, o, "readOnly");
    m.object_of(8, o, "externalDocs", external_docs);
    m.any_of(9, o, "example");
    m.vendor_extensions(10, o);
    m
}

fn schema(o: &Map<String, Value>) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, o, "$ref");
    m.str_of(2, o, "format");
    m.str_of(3, o, "title");
    m.str_of(4, o, "description");
    m.any_of(5, o, "default");
    m.double_of(6, o, "multipleOf");
    m.double_of(7, o, "maximum");
    m.bool_of(8, o, "exclusiveMaximum");
    m.double_of(9, o, "minimum");
    m.bool_of(10, o, "exclusiveMinimum");
    m.int64_of(11, o, "maxLength");
    m.int64_of(12, o, "minLength");
    m.str_of(13, o, "pattern");
    m.int64_of(14, o, "maxItems");
    m.int64_of(15, o, "minItems");
    m.bool_of(16, o, "uniqueItems");
    m.int64_of(17, o, "maxProperties");
    m.int64_of(18, o, "minProperties");
    m.strings_of(19, o, "required");
    m.anys_of(20, o, "enum");
    // AdditionalPropertiesItem: oneof Schema schema = 1, bool boolean = 2
    match o.get("additionalProperties") {
        Some(Value::Object(s)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(21, item);
        }
        Some(Value::Bool(b)) => {
            let mut item = Msg::default();
            item.key(2, WT_VARINT);
            item.varint(u64::from(*b));
            m.message(21, item);
        }
        _ => {}
    }
    // TypeItem { repeated string value = 1; }
    match o.get("type") {
        Some(Value::String(t)) => {
            let mut item = Msg::default();
            item.bytes(1, t.as_bytes());
            m.message(22, item);
        }
        Some(Value::Array(_)) => {
            let mut item = Msg::default();
            item.strings_of(1, o, "type");
            m.message(22, item);
        }
        _ => {}
    }
    // ItemsItem { repeated Schema schema = 1; }
    match o.get("items") {
        Some(Value::Object(s)) => {
            let mut item = Msg::default();
            item.message(1, schema(s));
            m.message(23, item);
        }
        Some(Value::Array(a)) => {
            let mut item = Msg::default();
            for s in a.iter().filter_map(Value::as_object) {
                item.message(1, schema(s));
            }
            m.message(23, item);
        }
        _ => {}
    }
    for s in o
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        m.message(24, schema(s));
    }
    m.object_of(25, o, "properties", |p| named_map(p, schema));
    m.str_of(26, o, "discriminator");
    m.bool_of(27, o, "readOnly");
    m.object_of(28, o, "xml", |x| {
        let mut m = Msg::default();
        m.str_of(1, x, "name");
        m.str_of(2, x, "namespace");
        m.str_of(3, x, "prefix");
        m.bool_of(4, x, "attribute");
        m.bool_of(5, x, "wrapped");
        m.vendor_extensions(6, x);
        m
    });
    m.object_of(29, o, "externalDocs", external_docs);
    m.any_of(30, o, "example");
    m.vendor_extensions(31, o);
    m
}

// ---------------------------------------------------------------------------------------------
// YAML for `Any.yaml`

/// `v` as block-style YAML with a trailing newline, the shape gnostic stores (yaml.v3 with the
/// node styles cleared): `merge\n`, `true\n`, `- group: ""\n  kind: Pod\n  version: v1\n`.
/// Strings that a YAML 1.1 reader (kube-openapi uses yaml.v2) could take for anything but a
/// string are double-quoted.
fn yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_node(v, 0, false, &mut out);
    out
}

/// Writes `v` starting at the current position; `indent` is the column of its block content.
/// `inline` says the first line continues a `- ` already written.
fn yaml_node(v: &Value, indent: usize, inline: bool, out: &mut String) {
    let pad = |out: &mut String, first: bool| {
        if !(first && inline) {
            out.extend(std::iter::repeat_n(' ', indent));
        }
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, v)) in m.iter().enumerate() {
                pad(out, i == 0);
                out.push_str(&yaml_string(k));
                out.push(':');
                match v {
                    Value::Object(c) if !c.is_empty() => {
                        out.push('\n');
                        yaml_node(v, indent + 4, false, out);
                    }
                    Value::Array(c) if !c.is_empty() => {
                        out.push('\n');
                        yaml_node(v, indent + 4, false, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&yaml_scalar(v));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                pad(out, i == 0);
                out.push_str("- ");
                yaml_node(v, indent + 2, true, out);
            }
        }
        _ => {
            pad(out, true);
            out.push_str(&yaml_scalar(v));
            out.push('\n');
        }
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A plain scalar when it is unambiguously a string, else double-quoted.
fn yaml_string(s: &str) -> String {
    const KEYWORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ','))
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s));
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // YAML's printable set, minus the characters it treats as line breaks or BOM.
            ' '..='~'
            | '\u{a0}'..='\u{2027}'
            | '\u{202a}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}'
            | '\u{10000}'.. => out.push(c),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A decoded field: varint, fixed64 or length-delimited bytes.
    #[derive(Debug, Clone, PartialEq)]
    enum F {
        V(u64),
        D(u64),
        B(Vec<u8>),
    }

    /// Minimal protobuf reader: (field number, value) in order; panics on malformed input.
    fn fields(buf: &[u8]) -> Vec<(u32, F)> {
        fn varint(buf: &[u8], pos: &mut usize) -> u64 {
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let b = buf[*pos];
                *pos += 1;
                v |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return v;
                }
            }
            panic!("varint too long");
        }
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let key = varint(buf, &mut pos);
            let field = u32::try_from(key >> 3).expect("field number");
            let value = match key & 7 {
                0 => F::V(varint(buf, &mut pos)),
                1 => {
                    let b: [u8; 8] = buf[pos..pos + 8].try_into().expect("fixed64");
                    pos += 8;
                    F::D(u64::from_le_bytes(b))
                }
                2 => {
                    let len = usize::try_from(varint(buf, &mut pos)).expect("len");
                    let b = buf[pos..pos + len].to_vec();
                    pos += len;
                    F::B(b)
                }
                wt => panic!("unexpected wire type {wt}"),
            };
            out.push((field, value));
        }
        assert_eq!(pos, buf.len(), "trailing bytes");
        out
    }

    fn all(buf: &[u8], field: u32) -> Vec<Vec<u8>> {
        fields(buf)
            .into_iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, v)| match v {
                F::B(b) => b,
                other => panic!("field {field} is not length-delimited: {other:?}"),
            })
            .collect()
    }

    fn one(buf: &[u8], field: u32) -> Vec<u8> {
        let mut v = all(buf, field);
        assert_eq!(v.len(), 1, "field {field} in {:?}", fields(buf));
        v.remove(0)
    }

    fn text(buf: &[u8], field: u32) -> String {
        String::from_utf8(one(buf, field)).expect("utf-8")
    }

    /// The `value` of the `Named*` entry called `name` in repeated field `field`.
    fn named_value(buf: &[u8], field: u32, name: &str) -> Vec<u8> {
        all(buf, field)
            .into_iter()
            .find(|e| text(e, 1) == name)
            .map(|e| one(&e, 2))
            .unwrap_or_else(|| panic!("no {name:?} in field {field}"))
    }

    /// Vendor extension `name` → its YAML.
    fn extension(buf: &[u8], field: u32, name: &str) -> String {
        text(&named_value(buf, field, name), 2)
    }

    #[test]
    fn tiny_document_exact_bytes() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "T", "version": "v"},
            "paths": {},
            "definitions": {
                "A": {
                    "description": "A is a small kind.",
                    "type": "object",
                    "required": ["b"],
                    "properties": {"b": {"type": "integer", "format": "int32"}},
                    "x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}],
                },
            },
        });
        let gvk = "- group: \"\"\n  kind: A\n  version: v1\n";
        let ext = [
            ld(&[0x0a], b"x-kubernetes-group-version-kind"),
            ld(&[0x12], &ld(&[0x12], gvk.as_bytes())),
        ]
        .concat();
        let prop_b = [
            ld(&[0x0a], b"b"),
            ld(
                &[0x12],
                &[
                    ld(&[0x12], b"int32"),                       // format = 2
                    ld(&[0xb2, 0x01], &ld(&[0x0a], b"integer")), // type = 22
                ]
                .concat(),
            ),
        ]
        .concat();
        let schema_a = [
            ld(&[0x22], b"A is a small kind."),         // description = 4
            ld(&[0x9a, 0x01], b"b"),                    // required = 19
            ld(&[0xb2, 0x01], &ld(&[0x0a], b"object")), // type = 22
            ld(&[0xca, 0x01], &ld(&[0x0a], &prop_b)),   // properties = 25
            ld(&[0xfa, 0x01], &ext),                    // vendor_extension = 31
        ]
        .concat();
        let named_a = [ld(&[0x0a], b"A"), ld(&[0x12], &schema_a)].concat();
        let want = [
            ld(&[0x0a], b"2.0"),                                           // swagger = 1
            ld(&[0x12], &[ld(&[0x0a], b"T"), ld(&[0x12], b"v")].concat()), // info = 2
            ld(&[0x42], b""),                                              // paths = 8
            ld(&[0x4a], &ld(&[0x0a], &named_a)),                           // definitions = 9
        ]
        .concat();
        assert!(schema_a.len() > 127, "exercises two-byte lengths");
        assert_eq!(encode(&doc), want);
    }

    /// A length-delimited field: its key bytes, the length varint, the payload.
    fn ld(key: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut m = Msg(key.to_vec());
        m.varint(payload.len() as u64);
        m.0.extend_from_slice(payload);
        m.0
    }

    #[test]
    fn operations_parameters_and_responses_in_swagger2_shape() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.33.0"},
            "paths": {"/api/v1/namespaces/{namespace}/configmaps/{name}": {
                "patch": {
                    "operationId": "patchConfigMap",
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": "", "kind": "ConfigMap", "version": "v1"},
                    "parameters": [
                        {"name": "fieldValidation", "in": "query", "description": "d",
                         "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "name", "in": "path", "required": true, "type": "string"},
                    ],
                    "requestBody": {"required": true, "content": {
                        "application/json-patch+json": {"schema": {"$ref": "#/definitions/CM"}},
                        "application/strategic-merge-patch+json": {"schema": {"$ref": "#/definitions/CM"}},
                    }},
                    "responses": {"200": {"description": "OK", "content": {
                        "application/json": {"schema": {"$ref": "#/definitions/CM"}},
                    }}},
                },
            }},
            "definitions": {"CM": {"type": "object", "properties": {}}},
        });
        let buf = encode(&doc);
        let paths = one(&buf, 8);
        let item = named_value(
            &paths,
            2,
            "/api/v1/namespaces/{namespace}/configmaps/{name}",
        );
        let op = one(&item, 8);
        assert_eq!(text(&op, 5), "patchConfigMap");
        assert_eq!(
            all(&op, 7),
            [
                b"application/json-patch+json".to_vec(),
                b"application/strategic-merge-patch+json".to_vec()
            ]
        );
        assert_eq!(all(&op, 6), [b"application/json".to_vec()]);
        assert_eq!(
            extension(&op, 13, "x-kubernetes-group-version-kind"),
            "group: \"\"\nkind: ConfigMap\nversion: v1\n"
        );
        assert_eq!(extension(&op, 13, "x-kubernetes-action"), "patch\n");
        let params = all(&op, 8);
        assert_eq!(params.len(), 3);
        // query: ParametersItem.parameter → Parameter.non_body_parameter → query_parameter_sub_schema
        let query = one(&one(&one(&params[0], 1), 2), 3);
        assert_eq!(text(&query, 4), "fieldValidation");
        assert_eq!(text(&query, 2), "query");
        assert_eq!(text(&query, 6), "string");
        assert!(fields(&query).contains(&(20, F::V(1))), "uniqueItems");
        let path = one(&one(&one(&params[1], 1), 2), 4);
        assert_eq!(text(&path, 4), "name");
        assert_eq!(text(&path, 5), "string");
        assert!(fields(&path).contains(&(1, F::V(1))), "required");
        let body = one(&one(&params[2], 1), 1);
        assert_eq!(text(&body, 2), "body");
        assert_eq!(text(&body, 3), "body");
        assert_eq!(text(&one(&body, 5), 1), "#/definitions/CM");
        let ok = named_value(&one(&op, 9), 1, "200");
        let response = one(&ok, 1);
        assert_eq!(text(&response, 1), "OK");
        assert_eq!(text(&one(&one(&response, 2), 1), 1), "#/definitions/CM");
        // an object schema with empty properties keeps its (empty) Properties message
        let cm = named_value(&one(&buf, 9), 1, "CM");
        assert_eq!(one(&cm, 25), Vec::<u8>::new());
    }

    #[test]
    fn schemas_refs_maps_arrays_and_extensions() {
        let doc = json!({
            "swagger": "2.0", "info": {"title": "t", "version": "v"}, "paths": {},
            "definitions": {"S": {"type": "object", "properties": {
                "meta": {"allOf": [{"$ref": "#/definitions/M"}], "description": "md"},
                "list": {"type": "array", "items": {"type": "string"},
                         "x-kubernetes-list-type": "atomic",
                         "x-kubernetes-patch-merge-key": "name",
                         "x-kubernetes-patch-strategy": "merge,retainKeys"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "closed": {"type": "object", "additionalProperties": false},
                "port": {"x-kubernetes-int-or-string": true},
                "mode": {"type": "string", "enum": ["On", "b c"], "default": "On"},
                "ratio": {"type": "number", "minimum": 0.5, "maxLength": 3},
            }}, "M": {"type": "object", "properties": {}}},
        });
        let buf = encode(&doc);
        let s = named_value(&one(&buf, 9), 1, "S");
        let props = one(&s, 25);
        let meta = named_value(&props, 1, "meta");
        assert_eq!(text(&meta, 1), "#/definitions/M");
        assert_eq!(text(&meta, 4), "md");
        assert!(all(&meta, 24).is_empty(), "allOf unwrapped");
        let list = named_value(&props, 1, "list");
        assert_eq!(text(&one(&list, 22), 1), "array");
        assert_eq!(text(&one(&one(&one(&list, 23), 1), 22), 1), "string");
        assert_eq!(extension(&list, 31, "x-kubernetes-list-type"), "atomic\n");
        assert_eq!(
            extension(&list, 31, "x-kubernetes-patch-merge-key"),
            "name\n"
        );
        assert_eq!(
            extension(&list, 31, "x-kubernetes-patch-strategy"),
            "merge,retainKeys\n"
        );
        let labels = named_value(&props, 1, "labels");
        assert_eq!(text(&one(&one(&one(&labels, 21), 1), 22), 1), "string");
        let closed = named_value(&props, 1, "closed");
        assert_eq!(fields(&one(&closed, 21)), [(2, F::V(0))]);
        let port = named_value(&props, 1, "port");
        assert_eq!(extension(&port, 31, "x-kubernetes-int-or-string"), "true\n");
        let mode = named_value(&props, 1, "mode");
        let enums: Vec<String> = all(&mode, 20).iter().map(|a| text(a, 2)).collect();
        assert_eq!(enums, ["\"On\"\n", "\"b c\"\n"]);
        assert_eq!(text(&one(&mode, 5), 2), "\"On\"\n");
        let ratio = named_value(&props, 1, "ratio");
        assert!(fields(&ratio).contains(&(9, F::D(0.5f64.to_bits()))));
        assert!(fields(&ratio).contains(&(11, F::V(3))));
    }

    /// The served document against the rules kube-openapi's `NewOpenAPIData` enforces (a `$ref`
    /// has no type or properties and names a definition, an array has exactly one item schema, a
    /// primitive has one known type), plus the GVK extension kubectl looks kinds up by.
    #[test]
    fn served_document_parses_as_kube_openapi_models() {
        fn check(schema: &[u8], names: &[String], path: &str) {
            if let Some(r) = all(schema, 1).pop() {
                let r = String::from_utf8(r).expect("ref");
                let target = r.strip_prefix("#/definitions/").expect("local ref");
                assert!(names.iter().any(|n| n == target), "{path}: dangling {r}");
                assert!(all(schema, 22).is_empty(), "{path}: $ref with type");
                assert!(all(schema, 25).is_empty(), "{path}: $ref with properties");
                return;
            }
            assert!(all(schema, 24).is_empty(), "{path}: allOf left");
            let types: Vec<Vec<u8>> = all(schema, 22).iter().flat_map(|t| all(t, 1)).collect();
            assert!(types.len() <= 1, "{path}: several types");
            match types.first().map(Vec::as_slice) {
                Some(b"array") => {
                    let items = all(&one(schema, 23), 1);
                    assert_eq!(items.len(), 1, "{path}: array items");
                    check(&items[0], names, &format!("{path}[]"));
                }
                Some(b"object") | None => {}
                Some(t) => assert!(
                    [&b"string"[..], b"integer", b"number", b"boolean"].contains(&t),
                    "{path}: type {t:?}"
                ),
            }
            for prop in all(schema, 25).iter().flat_map(|p| all(p, 1)) {
                check(&one(&prop, 2), names, &format!("{path}.{}", text(&prop, 1)));
            }
            for ap in all(schema, 21).iter().flat_map(|a| all(a, 1)) {
                check(&ap, names, &format!("{path}{{}}"));
            }
        }
        let cache = crate::openapi::OpenApiCache::default();
        let buf = cache.v2_protobuf(&crate::state::Catalog::default()).body;
        let defs = all(&one(&buf, 9), 1);
        let names: Vec<String> = defs.iter().map(|d| text(d, 1)).collect();
        assert!(names.len() > 100, "{} definitions", names.len());
        for d in &defs {
            check(&one(d, 2), &names, &text(d, 1));
        }
        let definitions = one(&buf, 9);
        let cm = named_value(&definitions, 1, "io.k8s.api.core.v1.ConfigMap");
        assert_eq!(
            extension(&cm, 31, "x-kubernetes-group-version-kind"),
            "- group: \"\"\n  kind: ConfigMap\n  version: v1\n"
        );
        let metadata = named_value(&one(&cm, 25), 1, "metadata");
        assert_eq!(
            text(&metadata, 1),
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let pod_spec = named_value(&definitions, 1, "io.k8s.api.core.v1.PodSpec");
        let containers = named_value(&one(&pod_spec, 25), 1, "containers");
        assert_eq!(
            extension(&containers, 31, "x-kubernetes-patch-merge-key"),
            "name\n"
        );
        assert_eq!(
            extension(&containers, 31, "x-kubernetes-patch-strategy"),
            "merge\n"
        );
        // the PATCH operation kubectl's GetConsumes reads
        let paths = one(&buf, 8);
        let item = named_value(
            &paths,
            2,
            "/api/v1/namespaces/{namespace}/configmaps/{name}",
        );
        let patch = one(&item, 8);
        assert!(all(&patch, 7).contains(&b"application/strategic-merge-patch+json".to_vec()));
        assert_eq!(
            extension(&patch, 13, "x-kubernetes-group-version-kind"),
            "group: \"\"\nkind: ConfigMap\nversion: v1\n"
        );
    }

    #[test]
    fn yaml_block_style() {
        assert_eq!(yaml(&json!("merge")), "merge\n");
        assert_eq!(yaml(&json!("")), "\"\"\n");
        assert_eq!(yaml(&json!("yes")), "\"yes\"\n");
        assert_eq!(yaml(&json!("1")), "\"1\"\n");
        assert_eq!(yaml(&json!("a\"b\nc\u{7f}")), "\"a\\\"b\\nc\\u007f\"\n");
        assert_eq!(yaml(&json!(3)), "3\n");
        assert_eq!(yaml(&json!(null)), "null\n");
        assert_eq!(yaml(&json!([])), "[]\n");
        assert_eq!(yaml(&json!(["name", "port"])), "- name\n- port\n");
        assert_eq!(
            yaml(&json!({"a": {"b": [1, {"c": "d", "e": []}]}, "f": {}})),
            "a:\n    b:\n        - 1\n        - c: d\n          e: []\nf: {}\n"
        );
        assert_eq!(yaml(&json!([[1, 2], 3])), "- - 1\n  - 2\n- 3\n");
    }

    #[test]
    fn accept_negotiation() {
        use Format::{Json, Protobuf};
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("")), Some(Json));
        assert_eq!(
            negotiate(Some(
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
            )),
            Some(Protobuf)
        );
        assert_eq!(
            negotiate(Some(
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json"
            )),
            Some(Protobuf)
        );
        assert_eq!(
            negotiate(Some(
                "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
            )),
            Some(Protobuf)
        );
        assert_eq!(
            negotiate(Some(
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, */*"
            )),
            Some(Json)
        );
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf")), None);
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("Application/JSON")), Some(Json));
        assert_eq!(negotiate(Some("application/*;q=0.9")), Some(Json));
    }
}
