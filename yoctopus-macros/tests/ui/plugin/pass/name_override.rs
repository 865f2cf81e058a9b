// `#[plugin(name = "...")]` overrides the module's name; a raw module name loses its `r#`.
use yoctopus_core::prelude::*;

#[plugin(name = "greeter")]
mod greeting_plugin {
    #[endpoint(method = "read")]
    async fn hello() -> &'static str {
        "hello"
    }
}

#[plugin]
mod r#match {
    #[endpoint(method = "read")]
    async fn score() -> u32 {
        0
    }
}

fn main() {
    assert_eq!(greeting_plugin::plugin().name(), "greeter");
    assert_eq!(r#match::plugin().name(), "match");
}
