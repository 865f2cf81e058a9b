//! The Yoctopus side of the benchmark: the Quick Start's `greeter` plugin, unchanged, and a
//! `bench` plugin whose `order` endpoint takes a nested twenty-field request format, to price
//! validation.
//!
//! The server is built with [`ServerBuilder::from_env`], so `PORT` (and every other option of the
//! README's table) works as for any Yoctopus server. No tracing subscriber is installed unless
//! `RUST_LOG` is set: the raw baseline logs nothing, and the comparison is between the two servers'
//! request paths, not their logging.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-yoctopus`; it prints
//! `listening on ws://<address>` once it accepts connections.

use yoctopus_bench::lifetime;
use yoctopus_core::prelude::*;

/// Greets people by name: the Quick Start's plugin.
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

/// The nested request format: `bench:order` `create`.
#[plugin]
pub mod bench {
    use yoctopus_core::prelude::*;

    use super::greeter::Greeting;

    /// An order: twenty fields in all, across nested objects, an array of objects, a union of
    /// literals, an email, numbers, booleans and an optional field.
    #[derive(RequestFormat)]
    pub struct Order {
        /// The order's id.
        pub id: String,
        /// Who ordered.
        pub customer: Customer,
        /// Where the order stands.
        pub status: Status,
        /// What was ordered.
        pub items: Vec<Item>,
        /// A note for the courier.
        pub note: Option<String>,
        /// The total price.
        pub total: f64,
        /// The currency of the prices.
        pub currency: String,
        /// Whether to wrap it.
        pub gift: bool,
    }

    /// Who ordered.
    #[derive(RequestFormat)]
    pub struct Customer {
        /// Their name.
        pub name: String,
        /// Their email.
        pub email: Email,
        /// Their age in years.
        pub age: u32,
        /// Whether they are a valued customer.
        pub vip: bool,
        /// Where to deliver.
        pub address: Address,
    }

    /// A postal address.
    #[derive(RequestFormat)]
    pub struct Address {
        /// Street and number.
        pub street: String,
        /// City.
        pub city: String,
        /// Postal code.
        pub zip: String,
        /// Country code.
        pub country: String,
    }

    /// A union of literal values.
    #[derive(RequestFormat)]
    pub enum Status {
        /// `"pending"`
        Pending,
        /// `"paid"`
        Paid,
        /// `"shipped"`
        Shipped,
    }

    /// One line of an order.
    #[derive(RequestFormat)]
    pub struct Item {
        /// The article.
        pub sku: String,
        /// How many.
        pub quantity: u32,
        /// Price of one.
        pub price: f64,
    }

    /// Answers like the greeter, so the two requests differ only in what is validated.
    #[endpoint(name = "order", method = "create")]
    async fn create(order: Order) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", order.customer.name),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let server = ServerBuilder::from_env()?
        .plugin(greeter::plugin())
        .plugin(bench::plugin())
        .start()
        .await?;
    println!("listening on ws://{}", server.local_addr());
    server.run_until(lifetime::stop_requested()).await;
    Ok(())
}
