//! An accept that fails (the process is out of file descriptors) reaches the error hook, and the
//! server serves again once descriptors are free. Alone in its test binary, because it lowers the
//! process's descriptor limit.

mod common;

use std::fs::File;

use common::{start_with, Client, WAIT};
use serde_json::json;
use yoctopus_core::{ErrorEvent, Server};

#[yoctopus_core::plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(64, |entries| entries.count() as u64)
}

#[tokio::test]
async fn an_accept_without_descriptors_reaches_the_error_hook_and_the_server_recovers() {
    let (events, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let builder = Server::builder().on_error(move |event| {
        let _ = events.send(event.clone());
    });
    let server = start_with(builder, [echo::plugin()]).await;
    let (soft, hard) =
        rlimit::getrlimit(rlimit::Resource::NOFILE).expect("the descriptor limit is readable");
    rlimit::setrlimit(rlimit::Resource::NOFILE, open_descriptors() + 16, hard)
        .expect("the soft limit can be lowered");
    // Take every descriptor but one, which the client's socket takes: the server has none left.
    let mut held = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        held.push(file);
    }
    drop(held.pop());
    let stranded = std::net::TcpStream::connect(server.local_addr());
    let event = tokio::time::timeout(WAIT, heard.recv())
        .await
        .expect("the hook heard of the failed accept in time")
        .expect("the hook is alive");
    drop(held);
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard).expect("the limit is restored");
    assert!(
        matches!(&event, ErrorEvent::AcceptFailed { message } if message.contains("open files")),
        "{event:?}"
    );
    drop(stranded);
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("echo:echo", "read", json!("back"), json!("back"))
        .await;
}
