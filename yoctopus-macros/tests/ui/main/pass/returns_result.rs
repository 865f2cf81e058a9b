//! An `async fn main` returning a `Result`, using `?` and `return` inside, on Yoctopus's runtime.

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    if listener.local_addr()?.port() == 0 {
        return Err("no port".into());
    }
    Ok(())
}
