//! The library's modules form layers: each uses only modules below it, so data flows one
//! way (expression → graph → scheduler → backend) and no import circle can form.
//! `cargo test --test layers -- --nocapture` prints the dependency graph it checked.
//!
//! Read from the source text: every `crate::NAME` a module's non-test code mentions
//! (comments and `#[cfg(test)]` modules aside: a unit test may build its inputs with
//! the API above it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first. A module may use any module before it in this list, none after.
const LAYERS: &[&str] = &[
    "multiversion",
    "dtype",
    "error",
    "philox",
    "chunks",
    "storage",
    "userfn",
    "kernel",
    "sampling",
    "backend",
    "spill",
    "expr",
    "graph",
    "scheduler",
    "array",
    "distributed",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` modules.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() && opens > 0 {
            skip_depth = Some(depth);
        }
        pending_test = pending_test && skip_depth.is_none() && opens == 0;
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code = code(text);
    for (i, _) in code.match_indices("crate::") {
        let name: String = code[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |m: &str| LAYERS.iter().position(|&l| l == m);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "bin" {
            continue;
        }
        let mut files = vec![];
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else {
            files.push(p.clone());
        }
        let deps = graph.entry(name.clone()).or_default();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            deps.extend(
                uses(&text)
                    .into_iter()
                    .filter(|d| *d != name && rank(d).is_some()),
            );
        }
    }
    let mut wrong = vec![];
    for (m, deps) in &graph {
        let r = rank(m).unwrap_or_else(|| {
            panic!("module {m} is not in LAYERS: place it in tests/layers.rs's list")
        });
        println!(
            "{m} -> {}",
            deps.iter().cloned().collect::<Vec<_>>().join(" ")
        );
        for d in deps {
            if rank(d).unwrap() > r {
                wrong.push(format!("{m} uses {d}, which is above it"));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_use_and_ignores_tests_and_comments() {
    let text = "use crate::dtype::DType;\n// crate::array in a comment\nfn f() { crate::graph::x(); }\n#[cfg(test)]\nmod tests {\n    use crate::array::Array;\n}\n";
    let found = uses(text);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["dtype".to_string(), "graph".to_string()]
    );
}
