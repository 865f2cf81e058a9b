#[yoctopus_core::main(flavor = "current_thread")]
async fn main() {}
