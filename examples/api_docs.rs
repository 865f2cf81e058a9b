//! Writes the API of every example server as JSON Schema and AsyncAPI 3.0 documents to
//! `docs/api/`: `cargo run --example api_docs`. With `--check`, writes nothing and fails when a
//! committed document is out of date (each example's tests check the same).
//!
//! The documents come from the plugins' static definitions, through
//! [`ServerBuilder::api`](yoctopus_core::ServerBuilder::api): no server starts.

// `assert_current` is for the examples' tests.
#[allow(dead_code, unreachable_pub)]
#[path = "support/api_documents.rs"]
mod api_documents;

// The examples themselves, for their `plugins()`; their `main`s go unused here.
#[allow(dead_code, unreachable_pub)]
#[path = "change_tracker.rs"]
mod change_tracker;
#[allow(dead_code, unreachable_pub)]
#[path = "chat.rs"]
mod chat;
#[allow(dead_code, unreachable_pub)]
#[path = "quickstart.rs"]
mod quickstart;
#[allow(dead_code, unreachable_pub)]
#[path = "token_auth.rs"]
mod token_auth;
#[allow(dead_code, unreachable_pub)]
#[path = "user_auth.rs"]
mod user_auth;

use yoctopus_core::{Api, Plugin, Server};

/// Every documented example: its name, its document's title and its plugins.
fn examples() -> Vec<(&'static str, &'static str, Vec<Plugin>)> {
    vec![
        ("quickstart", quickstart::TITLE, quickstart::plugins()),
        ("chat", chat::TITLE, chat::plugins()),
        ("user_auth", user_auth::TITLE, user_auth::plugins()),
        ("token_auth", token_auth::TITLE, token_auth::plugins()),
        (
            "change_tracker",
            change_tracker::TITLE,
            change_tracker::documented_plugins(),
        ),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            return Err(format!("unknown argument {other:?}; expected `--check` or nothing").into())
        }
    };
    let mut stale = Vec::new();
    for (name, title, plugins) in examples() {
        let api: Api = Server::builder().plugins(plugins).api()?;
        if check {
            stale.extend(api_documents::stale(name, title, &api));
            continue;
        }
        std::fs::create_dir_all(api_documents::directory())?;
        for (path, text) in api_documents::documents(name, title, &api) {
            std::fs::write(&path, text)?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "out of date: {stale:?}; run `cargo run --example api_docs` and commit the result"
        )
        .into());
    }
    Ok(())
}
