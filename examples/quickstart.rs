//! The original README's Quick Start: a `greeter` plugin with one endpoint.
//!
//! Run it with `cargo run --example quickstart` (port from `PORT`, default 3000), then send
//! `{"meta":{"id":"1","endpoint":"greeter:hello","method":"read"},"data":{"name":"Alice"}}`.

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
    #[derive(Serialize)]
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let server = ServerBuilder::from_env()?
        .plugin(greeter::plugin())
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
