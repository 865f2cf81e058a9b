// A binary requirement names a setting auth does not declare; the caret sits on the name.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }
}

#[plugin]
mod uploads {
    #[binary(requires(super::auth.authentikated))]
    async fn upload() {}
}

fn main() {}
