// A handler whose response type has no JSON Schema; the error sits on the type's name.
use yoctopus_core::prelude::*;

#[plugin]
mod greeter {

    #[derive(serde::Serialize)]
    pub struct Greeting {
        pub message: String,
    }

    #[endpoint(method = "read")]
    async fn hello() -> Result<Greeting, String> {
        Ok(Greeting { message: "hi".into() })
    }
}

fn main() {}
