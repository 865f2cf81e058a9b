// A requirement reads a setting of a plugin that declares no settings; the caret sits on the plugin name.
use yoctopus_core::prelude::*;

#[plugin]
mod greeter {}

#[plugin]
mod chat {
    use super::greeter;

    #[endpoint(method = "read", requires(greeter.enabled))]
    async fn message() {}
}

fn main() {}
