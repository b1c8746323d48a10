//! Embeds the knowledge base under `graphs/` (incidents, estimates, labels) into the binary.
use std::{env, fs, path::Path};

fn collect(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, base, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("toml" | "csv" | "yaml" | "yml")
        ) {
            out.push(
                p.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs");
    println!("cargo:rerun-if-changed=graphs");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Files of `graphs/`, embedded at build time: (relative path, contents).\n",
    );
    code.push_str("pub static EMBEDDED: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed=graphs/{f}");
        code.push_str(&format!(
            "    ({f:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/graphs/\", {f:?}))),\n"
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("catalog.rs");
    fs::write(out, code).unwrap();
}
