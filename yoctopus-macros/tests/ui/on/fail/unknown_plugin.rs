// A listener names a plugin that does not exist; the caret sits on the plugin path.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(super::auht.authenticated)]
    async fn changed() {}
}

fn main() {}
