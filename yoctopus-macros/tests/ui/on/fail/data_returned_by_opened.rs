// A `connection_opened` listener returns `Data`; the caret sits on the return type.
use yoctopus_core::prelude::*;

#[plugin]
mod logger {
    use yoctopus_core::prelude::*;

    #[on(connection_opened)]
    async fn opened() -> Data {
        Data(serde_json::Value::Null)
    }
}

fn main() {}
