//! The crate's layering, checked: each module uses only the modules below it in [`BOTTOM_UP`],
//! so there is no circle of imports and the connection layer never reaches up to the
//! application or the server.
//!
//! ```text
//! server        network side: TLS, origins, accept, upgrade, the connection's loop, pings, shutdown
//! builtin       the `yoctopus` plugin (written with the public macros)
//! app           router + settings registry + services + listener tables; a connection's life
//! api           the API as data: `api:api` `read`, the JSON Schema and AsyncAPI documents
//! dispatch      routes a frame to its plugin's generated table
//! lifecycle     the listener tables and how listeners run
//! plugin        the static definitions `#[plugin]` generates
//! reply         `Reply`: settings changed with a response
//! extract       what handlers and listeners ask for by type
//! listener      what listeners return: `Data`, `Reject`, `Refusal`, `Changed`
//! services      state, the register handle, delivery, the served API, the error hook
//! cluster       many servers as one through NATS: the cluster backend of delivery
//! served_api    the API served now and its changes
//! fault         server-side faults and the hook that hears them
//! connections   the register handle plugins use
//! delivery      the seam through which pushes and queries reach connections
//! filter        settings filters
//! register      every open connection by id
//! logs          log subscription: a `tracing` layer and its subscribers
//! connection    one connection's own parts: id, settings store, queue, signals, upgrade request
//! settings      plugins' settings types, the registry of slots, a connection's store
//! json_match    whether one JSON value holds another (and a value not yet JSON)
//! error         public error types
//! validate      request formats
//! protocol      the wire types
//! transport     frames in and out
//! runtime       the tokio runtime `#[main]` builds
//! ```

use std::path::{Path, PathBuf};

/// Every module, from the bottom up (tests and the macros' `__private` re-exports aside).
const BOTTOM_UP: &[&str] = &[
    "runtime",
    "transport",
    "protocol",
    "validate",
    "error",
    "json_match",
    "settings",
    "connection",
    "logs",
    "register",
    "filter",
    "delivery",
    "connections",
    "fault",
    "served_api",
    "cluster",
    "services",
    "listener",
    "extract",
    "reply",
    "plugin",
    "lifecycle",
    "dispatch",
    "api",
    "app",
    "builtin",
    "server",
];

/// The modules `lib.rs` declares, tests aside.
fn declared(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.strip_prefix("pub ").unwrap_or(line);
            line.strip_prefix("mod ")?.strip_suffix(';')
        })
        .filter(|name| !matches!(*name, "arbitrary_input" | "layering" | "__private"))
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
    let mut declared = declared(&lib);
    declared.sort();
    let mut listed: Vec<String> = BOTTOM_UP.iter().map(|name| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(
        declared, listed,
        "every module of lib.rs has its place in BOTTOM_UP"
    );
    let modules: Vec<String> = BOTTOM_UP.iter().map(|name| (*name).to_owned()).collect();
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
