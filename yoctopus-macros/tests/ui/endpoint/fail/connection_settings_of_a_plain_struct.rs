// `ConnectionSettings<T>` names a struct that is not a plugin's settings; the caret sits on the type.
use yoctopus_core::prelude::*;

#[derive(Default, Clone)]
pub struct Profile {
    pub name: String,
}

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[endpoint(method = "read")]
    async fn message(_profile: ConnectionSettings<super::Profile>) {}
}

fn main() {}
