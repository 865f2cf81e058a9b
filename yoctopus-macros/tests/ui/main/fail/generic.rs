#[yoctopus_core::main]
async fn main<T>() {}
