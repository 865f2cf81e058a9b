// A listener of a field inside a setting; the caret sits on the inner field.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    #[on(super::auth.profile.name)]
    async fn renamed() {}
}

fn main() {}
