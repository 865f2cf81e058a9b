// A handler returns a type alias of `Result<Reply<..>>`; the caret sits on the alias, and the
// message says to write the shape out.
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
mod session {
    use yoctopus_core::prelude::*;

    pub type Answer = Result<Reply<super::auth::Settings, &'static str>, String>;

    #[endpoint(method = "create")]
    async fn login() -> Answer {
        Ok(Reply::new("welcome"))
    }
}

fn main() {}
