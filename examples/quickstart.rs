//! The original README's Quick Start: a `greeter` plugin with one endpoint.
//!
//! Run it with `cargo run --example quickstart` (port from `PORT`, default 3000), then send
//! `{"meta":{"id":"1","endpoint":"greeter:hello","method":"read"},"data":{"name":"Alice"}}`.
//! The bundled `api` plugin is registered too, so any client can discover what it serves:
//! `{"meta":{"id":"2","endpoint":"api:api","method":"read"},"data":{}}`.

use yoctopus_core::prelude::*;

/// Greets people by name.
#[plugin]
pub mod greeter {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    /// `greeter:hello` `read` takes `{"name": "string"}`.
    #[derive(RequestFormat)]
    pub struct Hello {
        /// Who to greet.
        pub name: String,
    }

    /// The answer.
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Greeting {
        /// `Hello, <name>!`
        pub message: String,
    }

    #[endpoint(name = "hello", method = "read")]
    async fn hello(request: Hello) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", request.name),
        }
    }
}

#[cfg(test)]
#[path = "support/api_documents.rs"]
mod api_documents;

/// The title of this example's API documents (`cargo run --example api_docs`).
pub const TITLE: &str = "Quick Start: greeter";

/// The plugins this example serves, as `main` registers them and `api_docs` documents them.
pub fn plugins() -> Vec<Plugin> {
    vec![greeter::plugin(), yoctopus_plugins::api::plugin()]
}

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let server = ServerBuilder::from_env()?
        .plugins(plugins())
        .start()
        .await?;
    println!("greeter listening on ws://{}", server.local_addr());
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_committed_api_documents_are_current() {
        let api = yoctopus_core::Server::builder()
            .plugins(super::plugins())
            .api()
            .expect("the plugins fit together");
        super::api_documents::assert_current("quickstart", super::TITLE, &api);
    }
}
