//! How long a benchmark server lives: until it is killed, or, when the driver asks for it, until
//! its standard input closes.
//!
//! The driver stops servers by killing them. Should the driver itself die, the pipe it holds to each
//! server's standard input closes, and a server started with [`EXIT_WITH_STDIN`] set exits too, so
//! no server outlives its benchmark.

use tokio::io::AsyncReadExt as _;

/// The environment variable that makes a server exit when its standard input closes.
pub const EXIT_WITH_STDIN: &str = "BENCH_EXIT_WITH_STDIN";

/// Completes when the server should stop; never, unless [`EXIT_WITH_STDIN`] is set.
pub async fn stop_requested() {
    if std::env::var_os(EXIT_WITH_STDIN).is_none() {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buffer = [0_u8; 64];
    while let Ok(read) = stdin.read(&mut buffer).await {
        if read == 0 {
            break;
        }
    }
}

/// The port from `PORT` (default 3000, and 0 picks a free one), like Yoctopus's `from_env`.
pub fn port_from_env() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(port) => port
            .trim()
            .parse()
            .map_err(|error| format!("PORT `{port}`: {error}")),
        Err(_) => Ok(3000),
    }
}
