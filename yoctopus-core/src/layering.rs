//! The crate's layering, checked: each module uses only the modules declared before it in
//! `lib.rs` (the list runs from the bottom up), so there is no circle of imports and the
//! connection layer never reaches up to the application or the server.

use std::path::{Path, PathBuf};

/// The modules in the order `lib.rs` declares them, tests and generated-code re-exports aside.
fn modules_bottom_up(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|name| !matches!(*name, "arbitrary_input" | "layering"))
        .map(str::to_owned)
        .collect()
}

fn sources(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("the source folder is readable") {
            sources(&entry.expect("entries are readable").path(), found);
        }
    } else if path.is_file() && path.extension().is_some_and(|extension| extension == "rs") {
        found.push(path.to_owned());
    }
}

/// The crate modules a source text names as `crate::module`.
fn uses<'a>(text: &'a str, modules: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices("crate::").filter_map(move |(at, _)| {
        let rest = &text[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        modules
            .iter()
            .find(|module| **module == name)
            .map(String::as_str)
    })
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(root.join("lib.rs")).expect("lib.rs is readable");
    let modules = modules_bottom_up(&lib);
    assert!(modules.len() > 10, "lib.rs lists its modules: {modules:?}");
    let mut violations = Vec::new();
    for (level, module) in modules.iter().enumerate() {
        let mut files = Vec::new();
        sources(&root.join(format!("{module}.rs")), &mut files);
        sources(&root.join(module), &mut files);
        assert!(!files.is_empty(), "module {module} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("sources are readable");
            for used in uses(&text, &modules) {
                let used_level = modules.iter().position(|known| known == used);
                if used != module && used_level > Some(level) {
                    violations.push(format!("{} uses {used}", file.display()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules reach up the layering:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_use() {
    let modules = vec!["connection".to_owned(), "server".to_owned()];
    let found: Vec<&str> = uses("use crate::server::Network;", &modules).collect();
    assert_eq!(found, ["server"]);
}
