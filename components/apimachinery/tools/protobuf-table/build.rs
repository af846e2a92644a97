//! Enumerates every type in k8s-openapi's `v1_35` tree that implements
//! `schemars::JsonSchema`, so the generator can ask each one for its JSON
//! schema (k8s-openapi has no registry of its types). Writes
//! `$OUT_DIR/schemas.rs` with `fn all_schemas(..) -> Vec<(String, Schema)>`.

use std::path::{Path, PathBuf};

fn main() {
    let src = k8s_openapi_src().join("src").join("v1_35");
    println!("cargo:rerun-if-env-changed=K8S_OPENAPI_SRC");
    let mut types = Vec::new();
    collect(&src, &src, &mut types);
    types.sort();
    let mut out = String::from(
        "pub fn all_schemas(g: &mut schemars::SchemaGenerator) -> Vec<(String, schemars::Schema)> {\n    vec![\n",
    );
    for t in &types {
        out.push_str(&format!(
            "        (<{t} as schemars::JsonSchema>::schema_name().into_owned(), <{t} as schemars::JsonSchema>::json_schema(g)),\n"
        ));
    }
    out.push_str("    ]\n}\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("schemas.rs");
    std::fs::write(dest, out).expect("write schemas.rs");
}

/// `K8S_OPENAPI_SRC`, else the crate in cargo's registry source cache (the
/// dependency is pinned to =0.29.0, so the directory name is known).
fn k8s_openapi_src() -> PathBuf {
    if let Ok(p) = std::env::var("K8S_OPENAPI_SRC") {
        return PathBuf::from(p);
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"));
    for entry in std::fs::read_dir(home.join("registry").join("src")).expect("registry/src") {
        let p = entry.expect("entry").path().join("k8s-openapi-0.29.0");
        if p.is_dir() {
            return p;
        }
    }
    panic!("k8s-openapi-0.29.0 source not found; set K8S_OPENAPI_SRC");
}

fn collect(root: &Path, dir: &Path, types: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(root, &p, types);
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let rel = p
            .parent()
            .expect("parent")
            .strip_prefix(root)
            .expect("prefix");
        let module: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        for line in text.lines() {
            // Generic impls (WatchEvent<T>) are skipped: no proto message needs them.
            if let Some(name) = line
                .strip_prefix("impl crate::schemars::JsonSchema for ")
                .and_then(|rest| rest.strip_suffix(" {"))
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                types.push(format!("k8s_openapi::{}::{}", module.join("::"), name));
            }
        }
    }
}
