//! An echo server on Yoctopus's connection layer, for the Autobahn conformance suite
//! (`scripts/autobahn.sh` runs it).
//!
//! Every text and binary message is sent back unchanged, in order. The JSON protocol is switched
//! off with a message handler; everything else (framing rules, close codes, pings, limits) is the
//! same code that serves plugins. Messages up to 16 MiB are accepted, as Autobahn's case 9 needs.
//!
//! Run it with `cargo run --release --example autobahn_echo` (port from `PORT`, default 3000).

use yoctopus_core::{Connection, Message, ServerBuilder};

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ServerBuilder::new()
        .max_message_size(16 << 20)
        .with_env()?
        .message_handler(|connection: Connection, message: Message| async move {
            let _ = match message {
                Message::Text(text) => connection.send_text(text).await,
                Message::Binary(bytes) => connection.send_binary(bytes).await,
            };
        })
        .start()
        .await?;
    println!("autobahn echo listening on ws://{}", server.local_addr());
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
