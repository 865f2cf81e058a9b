// `Reply<S, T>` names a struct that is not a plugin's settings as `S`; the caret sits on the return type.
use yoctopus_core::prelude::*;

#[derive(Default, Clone)]
pub struct Profile {
    pub name: String,
}

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[endpoint(method = "update")]
    async fn profile() -> Reply<super::Profile, String> {
        Reply::new(String::new())
    }
}

fn main() {}
