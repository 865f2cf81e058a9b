#[yoctopus_core::main]
fn main() {}
