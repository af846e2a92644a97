//! Generates `components/apimachinery/src/protobuf/table.json`, the field
//! table that drives warren's Kubernetes protobuf -> JSON decoder.
//!
//! Inputs (all pinned to the same Kubernetes minor, 1.35):
//! 1. k8s-pb 0.9.0 source (prost-generated Rust): the wire schema — every
//!    message, field number, scalar kind, repeated/map, and message type refs.
//! 2. k8s-openapi 0.29.0 (`v1_35`, `schemars`): the JSON property names. A
//!    k8s-pb field `volume_id` is matched to the property of the same type's
//!    schema whose name equals it with `_` removed, case-folded (`volumeID`).
//! 3. The Go API types (k8s.io/api, k8s.io/apimachinery,
//!    k8s.io/apiextensions-apiserver at v0.35.7): struct tags say which
//!    fields are non-pointer + `omitempty` (Go's JSON encoder drops their zero
//!    values, although Go's protobuf encoder always writes them), which are
//!    embedded `json:",inline"` (flattened into the parent object), the real
//!    message names (prost renames `CSIDriver` to `CsiDriver`), the API group
//!    of each package, and a cross-check of every JSON name.
//!
//! Run (from this directory):
//! ```sh
//! # check out kubernetes/api, kubernetes/apimachinery and
//! # kubernetes/apiextensions-apiserver at tag v0.35.7 into /tmp/gosrc/<repo>, then:
//! cargo run --release -- --go-api /tmp/gosrc/api \
//!   --go-apimachinery /tmp/gosrc/apimachinery \
//!   --go-apiextensions /tmp/gosrc/apiextensions-apiserver
//! ```
//! k8s-pb's source is looked up in cargo's registry cache (it is a
//! dev-dependency of warren-apimachinery, so `cargo fetch` in the main
//! workspace puts it there), or given with `--k8s-pb DIR`. The table is
//! written to `../../src/protobuf/table.json` unless `--out PATH` is given.
//! Everything the generator could not match is printed to stderr.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

/// k8s-pb module trees that are decoded. Messages they reference elsewhere
/// are pulled in as well (the closure is checked below).
const ROOTS: &[&str] = &[
    "api",
    "apimachinery/pkg/apis/meta/v1",
    "apimachinery/pkg/api/resource",
    "apimachinery/pkg/util/intstr",
    "apimachinery/pkg/runtime",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1",
];

/// Messages whose JSON form comes from a hand-written Go MarshalJSON rather
/// than from their fields. The decoder implements each tag.
const SPECIAL: &[(&str, &str)] = &[
    ("k8s.io.apimachinery.pkg.apis.meta.v1.Time", "time"),
    (
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
        "microtime",
    ),
    ("k8s.io.apimachinery.pkg.apis.meta.v1.Duration", "duration"),
    ("k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1", "rawjson"),
    ("k8s.io.apimachinery.pkg.runtime.RawExtension", "rawjson"),
    ("k8s.io.apimachinery.pkg.api.resource.Quantity", "quantity"),
    (
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
        "intorstring",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON",
        "rawjson",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "schema_or_array",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "schema_or_bool",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
        "schema_or_string_array",
    ),
];

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    String,
    Int32,
    Int64,
    Bool,
    Double,
    Bytes,
    Message(String),
}

#[derive(Debug)]
struct PbField {
    rust_name: String,
    tag: u32,
    kind: Kind,
    repeated: bool,
    map: bool,
}

#[derive(Debug)]
struct PbMessage {
    /// Module path inside k8s-pb, e.g. `api/core/v1`.
    module: String,
    /// prost's (re-cased) struct name.
    rust_name: String,
    fields: Vec<PbField>,
}

#[derive(Debug, Clone)]
struct GoField {
    pointer: bool,
    embedded: bool,
    json: String,
    omitempty: bool,
    scalar_type: String,
}

#[derive(Default, Debug)]
struct GoPackage {
    group: Option<String>,
    /// struct name -> proto tag -> field
    structs: HashMap<String, HashMap<u32, GoField>>,
    /// `type X []string`-style named slices, which go-to-protobuf wraps in a
    /// message with one repeated `items` field but which are JSON arrays.
    slices: BTreeSet<String>,
    /// Structs embedding `metav1.TypeMeta`: the package's kinds.
    kinds: BTreeSet<String>,
}

struct Args {
    k8s_pb: PathBuf,
    go_api: PathBuf,
    go_apimachinery: PathBuf,
    go_apiextensions: PathBuf,
    out: PathBuf,
}

fn main() {
    let args = parse_args();
    let mut messages: Vec<PbMessage> = Vec::new();
    for root in ROOTS {
        walk_pb(
            &args.k8s_pb.join("src"),
            &args.k8s_pb.join("src").join(root),
            &mut messages,
        );
    }
    messages.sort_by(|a, b| (&a.module, &a.rust_name).cmp(&(&b.module, &b.rust_name)));

    let mut go: HashMap<String, GoPackage> = HashMap::new();
    for m in &messages {
        if !go.contains_key(&m.module) {
            let dir = go_dir(&args, &m.module);
            go.insert(m.module.clone(), parse_go_package(&dir));
        }
    }

    let mut generator = schemars::SchemaGenerator::default();
    let schemas: HashMap<String, BTreeSet<String>> = all_schemas(&mut generator)
        .into_iter()
        .map(|(name, schema)| {
            let props = schema
                .get("properties")
                .and_then(|p| p.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            (name.to_ascii_lowercase(), props)
        })
        .collect();

    let mut report = Report::default();

    // Canonical (Go / .proto) message names: prost re-cases acronyms.
    let mut canonical: HashMap<(String, String), String> = HashMap::new();
    for m in &messages {
        let pkg = &go[&m.module];
        let found = pkg
            .structs
            .keys()
            .chain(pkg.slices.iter())
            .find(|n| n.eq_ignore_ascii_case(&m.rust_name))
            .cloned();
        let name = found.unwrap_or_else(|| {
            report
                .no_go_type
                .push(format!("{}.{}", m.module, m.rust_name));
            m.rust_name.clone()
        });
        canonical.insert((m.module.clone(), m.rust_name.clone()), name);
    }
    let full_name = |module: &str, rust_name: &str| -> String {
        let name = canonical
            .get(&(module.to_string(), rust_name.to_string()))
            .cloned()
            .unwrap_or_else(|| rust_name.to_string());
        format!("k8s.io.{}.{}", module.replace('/', "."), name)
    };
    let index: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (full_name(&m.module, &m.rust_name), i))
        .collect();
    // Kind::Message holds "module::RustName" until resolved here.
    let resolve = |r: &str| -> usize {
        let (module, name) = r.rsplit_once("::").expect("resolved ref");
        let full = full_name(module, name);
        *index
            .get(&full)
            .unwrap_or_else(|| panic!("referenced message {full} is outside ROOTS"))
    };

    let specials: HashMap<&str, &str> = SPECIAL.iter().copied().collect();
    let mut out_messages = Vec::new();
    let mut kinds: Vec<(String, String, usize)> = Vec::new();
    let mut field_count = 0usize;
    let mut by_openapi = 0usize;
    for (mi, m) in messages.iter().enumerate() {
        let full = full_name(&m.module, &m.rust_name);
        let go_pkg = &go[&m.module];
        let canon = canonical[&(m.module.clone(), m.rust_name.clone())].clone();
        let mut special = specials
            .get(full.as_str())
            .map(|s| s.to_string())
            .unwrap_or_default();
        if special.is_empty() && go_pkg.slices.contains(&canon) {
            // A named Go slice: JSON is the array of its single field.
            assert!(
                m.fields.len() == 1 && m.fields[0].tag == 1 && m.fields[0].repeated,
                "{full}"
            );
            special = "array".into();
        }
        let schema_name = full
            .replacen("k8s.io.", "io.k8s.", 1)
            .replace("apiextensions_apiserver", "apiextensions-apiserver")
            .to_ascii_lowercase();
        let props = schemas.get(&schema_name);
        if props.is_none() && special.is_empty() {
            report.no_schema.push(full.clone());
        }
        let go_struct = go_pkg.structs.get(&canon);
        let mut fields = Vec::new();
        for f in &m.fields {
            field_count += 1;
            let go_field = go_struct.and_then(|s| s.get(&f.tag));
            if go_field.is_none() && special.is_empty() {
                report
                    .no_go_field
                    .push(format!("{full}.{} ({})", f.rust_name, f.tag));
            }
            // Embedded struct without a JSON name: Go flattens its fields.
            // (Embedded scalars such as Duration's time.Duration are not.)
            let inline = matches!(f.kind, Kind::Message(_))
                && go_field.is_some_and(|g| g.embedded && g.json.is_empty());
            // `volume_id` ~ `volumeID`, `x_kubernetes_list_type` ~
            // `x-kubernetes-list-type`, `r#ref` ~ `$ref`.
            let norm = |s: &str| {
                s.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase()
            };
            let from_schema =
                props.and_then(|p| p.iter().find(|p| norm(p) == norm(&f.rust_name)).cloned());
            let json = if inline {
                String::new()
            } else if let Some(name) = from_schema {
                by_openapi += 1;
                if let Some(g) = go_field
                    && g.json != name
                {
                    report.mismatch.push(format!(
                        "{full}.{}: openapi {name} vs go {}",
                        f.rust_name, g.json
                    ));
                }
                name
            } else if let Some(g) = go_field.filter(|g| !g.json.is_empty()) {
                if props.is_some() {
                    report.unmatched.push(format!(
                        "{full}.{} -> {} (from Go tag)",
                        f.rust_name, g.json
                    ));
                }
                g.json.clone()
            } else {
                let name = lower_camel(&f.rust_name);
                if special.is_empty() {
                    report
                        .unmatched
                        .push(format!("{full}.{} -> {name} (guessed)", f.rust_name));
                }
                name
            };
            let scalar = !matches!(f.kind, Kind::Message(_)) && !f.repeated && !f.map;
            // Go's JSON encoder drops the zero value of a non-pointer
            // `omitempty` field; Go's protobuf encoder writes it anyway.
            let omit_zero = scalar
                && go_field.is_some_and(|g| !g.pointer && g.omitempty && !g.scalar_type.is_empty());
            // A nil slice/map/[]byte without `omitempty` is JSON `null` in
            // Go, and Go's protobuf encoder never writes an empty one: so an
            // absent field of that kind decodes to null (`Role.rules`).
            let null_if_absent = (f.repeated || f.map || f.kind == Kind::Bytes)
                && go_field.is_some_and(|g| !g.omitempty && !g.embedded && !g.pointer);
            let flags = u32::from(f.repeated)
                | (u32::from(f.map) << 1)
                | (u32::from(omit_zero) << 2)
                | (u32::from(inline) << 3)
                | (u32::from(null_if_absent) << 4);
            let ty = match &f.kind {
                Kind::String => serde_json::json!("string"),
                Kind::Int32 => serde_json::json!("int32"),
                Kind::Int64 => serde_json::json!("int64"),
                Kind::Bool => serde_json::json!("bool"),
                Kind::Double => serde_json::json!("double"),
                Kind::Bytes => serde_json::json!("bytes"),
                Kind::Message(r) => serde_json::json!(resolve(r)),
            };
            fields.push(serde_json::json!([f.tag, json, ty, flags]));
        }
        // Top-level kinds: Go structs that embed TypeMeta; without a Go
        // struct (core/v1 `type List metav1.List`), messages whose field 1
        // is ObjectMeta/ListMeta metadata.
        let is_kind = go_pkg.kinds.contains(&canon) || go_struct.is_none() && m.fields.iter().any(|f| {
            f.tag == 1
                && matches!(&f.kind, Kind::Message(r) if r == "apimachinery/pkg/apis/meta/v1::ObjectMeta" || r == "apimachinery/pkg/apis/meta/v1::ListMeta")
        });
        if is_kind {
            match &go_pkg.group {
                Some(group) => {
                    let version = m.module.rsplit('/').next().expect("version");
                    let api_version = if group.is_empty() {
                        version.to_string()
                    } else {
                        format!("{group}/{version}")
                    };
                    kinds.push((api_version, canon.clone(), mi));
                }
                None => report.no_group.push(full.clone()),
            }
        }
        out_messages.push(serde_json::json!([full, special, fields]));
    }
    kinds.sort();

    let mut text = String::new();
    text.push_str("{\"_comment\":[\"GENERATED by components/apimachinery/tools/protobuf-table (see its src/main.rs for how to regenerate); do not edit.\",\n");
    text.push_str("\"Sources: k8s-pb 0.9.0 (wire schema), k8s-openapi 0.29.0 v1_35 (JSON names), k8s.io/{api,apimachinery,apiextensions-apiserver} v0.35.7 Go types (omitempty, inline, names, groups).\",\n");
    text.push_str("\"messages: [protoName, special, fields]; field: [tag, jsonName, type (scalar name or message index), flags (1 repeated, 2 map<string,type>, 4 omit zero, 8 inline, 16 null if absent)]; kinds: [apiVersion, kind, message index].\"],\n");
    text.push_str("\"messages\":[\n");
    let lines: Vec<String> = out_messages
        .iter()
        .map(|m| serde_json::to_string(m).expect("json"))
        .collect();
    text.push_str(&lines.join(",\n"));
    text.push_str("\n],\n\"kinds\":[\n");
    let lines: Vec<String> = kinds
        .iter()
        .map(|k| serde_json::to_string(&serde_json::json!([k.0, k.1, k.2])).expect("json"))
        .collect();
    text.push_str(&lines.join(",\n"));
    text.push_str("\n]}\n");
    std::fs::write(&args.out, &text).expect("write table");

    eprintln!(
        "wrote {}: {} messages, {} fields ({} named from openapi), {} kinds, {} bytes",
        args.out.display(),
        out_messages.len(),
        field_count,
        by_openapi,
        kinds.len(),
        text.len()
    );
    report.print();
}

#[derive(Default)]
struct Report {
    no_go_type: Vec<String>,
    no_go_field: Vec<String>,
    no_schema: Vec<String>,
    unmatched: Vec<String>,
    mismatch: Vec<String>,
    no_group: Vec<String>,
}

impl Report {
    fn print(&self) {
        for (title, items) in [
            (
                "fields with no openapi property (JSON name from Go tag or guessed)",
                &self.unmatched,
            ),
            (
                "openapi name differs from Go json tag (openapi used)",
                &self.mismatch,
            ),
            (
                "messages with no openapi schema (names from Go tags)",
                &self.no_schema,
            ),
            ("messages with no Go type", &self.no_go_type),
            (
                "fields with no Go struct field (no omitempty/inline info)",
                &self.no_go_field,
            ),
            ("kinds without an API group", &self.no_group),
        ] {
            eprintln!("{title}: {}", items.len());
            for i in items {
                eprintln!("  {i}");
            }
        }
    }
}

fn parse_args() -> Args {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        match pair {
            [k, v] if k.starts_with("--") => {
                map.insert(k.trim_start_matches("--").to_string(), v.clone());
            }
            _ => panic!("usage: see src/main.rs header"),
        }
    }
    let need = |k: &str| {
        PathBuf::from(
            map.get(k)
                .unwrap_or_else(|| panic!("--{k} DIR is required")),
        )
    };
    Args {
        k8s_pb: map
            .get("k8s-pb")
            .map(PathBuf::from)
            .unwrap_or_else(|| registry_src("k8s-pb-0.9.0")),
        go_api: need("go-api"),
        go_apimachinery: need("go-apimachinery"),
        go_apiextensions: need("go-apiextensions"),
        out: map
            .get("out")
            .map(PathBuf::from)
            .unwrap_or_else(|| here.join("../../src/protobuf/table.json")),
    }
}

fn registry_src(name: &str) -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"));
    for entry in std::fs::read_dir(home.join("registry/src")).expect("registry/src") {
        let p = entry.expect("entry").path().join(name);
        if p.is_dir() {
            return p;
        }
    }
    panic!(
        "{name} not in cargo's registry cache: run `cargo fetch` in the workspace or pass --k8s-pb"
    );
}

fn go_dir(args: &Args, module: &str) -> PathBuf {
    if let Some(rest) = module.strip_prefix("api/") {
        args.go_api.join(rest)
    } else if let Some(rest) = module.strip_prefix("apimachinery/") {
        args.go_apimachinery.join(rest)
    } else if let Some(rest) = module.strip_prefix("apiextensions_apiserver/") {
        args.go_apiextensions.join(rest)
    } else {
        panic!("no Go source for {module}")
    }
}

fn walk_pb(src: &Path, dir: &Path, out: &mut Vec<PbMessage>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk_pb(src, &p, out);
        } else if p.file_name().is_some_and(|n| n == "mod.rs") {
            let module = dir
                .strip_prefix(src)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            parse_pb_file(&module, &std::fs::read_to_string(&p).expect("read"), out);
        }
    }
}

fn parse_pb_file(module: &str, text: &str, out: &mut Vec<PbMessage>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut current: Option<PbMessage> = None;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let empty = rest.trim_end().ends_with("{}");
            let name = rest.trim_end_matches(" {}").trim_end_matches(" {").trim();
            let m = PbMessage {
                module: module.to_string(),
                rust_name: name.to_string(),
                fields: Vec::new(),
            };
            if empty {
                out.push(m);
            } else {
                current = Some(m);
            }
        } else if line == "}" {
            if let Some(m) = current.take() {
                out.push(m);
            }
        } else if let (Some(m), Some(attr)) =
            (current.as_mut(), line.trim().strip_prefix("#[prost("))
        {
            let attr = attr
                .strip_suffix(")]")
                .unwrap_or_else(|| panic!("multi-line prost attr in {module}: {line}"));
            // The declaration follows, possibly wrapped over several lines.
            let mut decl = String::new();
            i += 1;
            while i < lines.len() {
                decl.push_str(lines[i].trim());
                if decl.ends_with(',') && decl.matches('<').count() == decl.matches('>').count() {
                    break;
                }
                i += 1;
            }
            m.fields.push(parse_pb_field(module, attr, &decl));
        }
        i += 1;
    }
}

fn parse_pb_field(module: &str, attr: &str, decl: &str) -> PbField {
    let decl = decl
        .strip_prefix("pub ")
        .unwrap_or_else(|| panic!("field decl {decl}"));
    let (name, ty) = decl.split_once(':').expect("name: type");
    let rust_name = name.trim().trim_start_matches("r#").to_string();
    let ty: String = ty
        .trim()
        .trim_end_matches(',')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    // rustfmt may leave a trailing comma inside wrapped generics: `Vec<\n X,\n>`.
    let ty = ty.replace(",>", ">");
    let parts = split_attr(attr);
    let tag = parts
        .iter()
        .find_map(|p| {
            p.strip_prefix("tag = \"")
                .map(|t| t.trim_end_matches('"').parse::<u32>().expect("tag"))
        })
        .expect("tag");
    let repeated = parts.iter().any(|p| p == "repeated");
    let first = parts[0].as_str();
    let (kind_word, map) = if let Some(m) = first.strip_prefix("btree_map = \"") {
        let m = m.trim_end_matches('"');
        let (k, v) = m.split_once(", ").expect("map types");
        assert_eq!(k, "string", "only string map keys are expected");
        (v.to_string(), true)
    } else {
        (first.split(' ').next().expect("kind").to_string(), false)
    };
    let kind = match kind_word.as_str() {
        "string" => Kind::String,
        "int32" => Kind::Int32,
        "int64" => Kind::Int64,
        "bool" => Kind::Bool,
        "double" => Kind::Double,
        "bytes" => Kind::Bytes,
        "message" => {
            // Innermost type path: Option<..>, Vec<..>, Box<..>, or the value of BTreeMap<String, ..>.
            let mut t = ty.as_str();
            if map {
                let inner = t.split_once('<').expect("map generic").1;
                t = inner.split_once(',').expect("map value").1;
            }
            let t = t.trim_end_matches('>');
            let t = t.rsplit('<').next().expect("inner");
            Kind::Message(resolve_path(module, t))
        }
        other => panic!("unsupported prost kind {other} in {module}"),
    };
    PbField {
        rust_name,
        tag,
        kind,
        repeated,
        map,
    }
}

/// Splits `message, optional, tag = "1"` at top-level commas (commas inside
/// quotes, as in `btree_map = "string, string"`, stay).
fn split_attr(attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in attr.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// `super::super::apimachinery::pkg::apis::meta::v1::ObjectMeta` seen from
/// `api/core/v1` -> `apimachinery/pkg/apis/meta/v1::ObjectMeta`.
fn resolve_path(module: &str, path: &str) -> String {
    let mut segs: Vec<&str> = module.split('/').collect();
    let mut parts: Vec<&str> = path.split("::").collect();
    let name = parts.pop().expect("name");
    for p in parts {
        if p == "super" {
            segs.pop();
        } else {
            segs.push(p);
        }
    }
    format!("{}::{}", segs.join("/"), name)
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_go_package(dir: &Path) -> GoPackage {
    let mut pkg = GoPackage::default();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        if !name.ends_with(".go")
            || name.ends_with("_test.go")
            || name.starts_with("zz_generated")
            || name == "generated.pb.go"
            || name.ends_with("_swagger_doc_generated.go")
        {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read go");
        parse_go_file(&text, &mut pkg);
    }
    pkg
}

fn parse_go_file(text: &str, pkg: &mut GoPackage) {
    let mut current: Option<(String, HashMap<u32, GoField>)> = None;
    for line in text.lines() {
        if let Some(g) = line.trim().strip_prefix("// +groupName=") {
            pkg.group = Some(g.trim().to_string());
        }
        if pkg.group.is_none()
            && let Some(rest) = line.trim().strip_prefix("const GroupName = \"")
        {
            pkg.group = Some(rest.trim_end_matches('"').to_string());
        }
        if let Some(rest) = line.strip_prefix("type ") {
            let mut words = rest.split_whitespace();
            let (Some(name), Some(ty)) = (words.next(), words.next()) else {
                continue;
            };
            if ty == "struct" && rest.trim_end().ends_with('{') {
                current = Some((name.to_string(), HashMap::new()));
            } else if ty.starts_with("[]") && !ty.starts_with("[]byte") {
                pkg.slices.insert(name.to_string());
            }
            continue;
        }
        if line == "}" {
            if let Some((name, fields)) = current.take() {
                pkg.structs.insert(name, fields);
            }
            continue;
        }
        if current.is_none() {
            continue;
        }
        let t = line.trim();
        if t.starts_with("//") {
            continue;
        }
        let first = t.split_whitespace().next().unwrap_or_default();
        if (first == "TypeMeta" || first.ends_with(".TypeMeta")) && t.contains("json:\",inline\"") {
            let (name, _) = current.as_ref().expect("inside a struct");
            pkg.kinds.insert(name.clone());
        }
        let Some((decl, rest)) = t.split_once('`') else {
            continue;
        };
        let tag = rest.trim_end_matches('`');
        let tags = parse_struct_tag(tag);
        let Some(pb) = tags.get("protobuf") else {
            continue;
        };
        let Some(number) = pb.split(',').nth(1).and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let words: Vec<&str> = decl.split_whitespace().collect();
        let (embedded, ty) = match words.as_slice() {
            [ty] => (true, ty.to_string()),
            [_name, ty @ ..] => (false, ty.join(" ")),
            [] => continue,
        };
        let json = tags.get("json").cloned().unwrap_or_default();
        let mut jparts = json.split(',');
        let json_name = jparts.next().unwrap_or_default().to_string();
        let omitempty = jparts.any(|o| o == "omitempty");
        let pointer = ty.starts_with('*');
        // Anything that is not a slice, map or pointer is a value whose zero
        // Go's `omitempty` drops (structs are never dropped, but the table
        // only applies this flag to proto scalars).
        let scalar_type =
            if pointer || ty.starts_with("[]") && ty != "[]byte" || ty.starts_with("map[") {
                String::new()
            } else {
                ty.clone()
            };
        let Some((_, fields)) = current.as_mut() else {
            continue;
        };
        fields.insert(
            number,
            GoField {
                pointer,
                embedded,
                json: json_name,
                omitempty,
                scalar_type,
            },
        );
    }
}

/// Go struct tag `json:"a,omitempty" protobuf:"bytes,1,opt,name=a"` -> map.
fn parse_struct_tag(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = tag.trim();
    while let Some((key, after)) = rest.split_once(":\"") {
        let Some((value, tail)) = after.split_once('"') else {
            break;
        };
        out.insert(key.trim().to_string(), value.to_string());
        rest = tail.trim();
    }
    out
}
