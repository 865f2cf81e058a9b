// `name` defaults to the function's name (without `r#`); an endpoint without a request argument
// accepts any `data`; one name may carry several methods, each with its own function.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    #[endpoint(method = "read")]
    async fn message() {}

    #[endpoint(name = "message", method = "create")]
    async fn post_message() {}

    #[endpoint(name = "message", method = "custom-method_1")]
    async fn custom_message() {}

    #[endpoint(method = "read")]
    async fn r#type() {}

    #[endpoint(name = "other", method = "read")]
    pub async fn public_endpoint() {}
}

fn main() {
    let endpoints: Vec<(&str, Vec<&str>)> = chat::__yoctopus_plugin_def
        .endpoints
        .iter()
        .map(|endpoint| {
            (
                endpoint.name,
                endpoint
                    .methods
                    .iter()
                    .map(|method| method.method)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        endpoints,
        [
            ("message", vec!["read", "create", "custom-method_1"]),
            ("type", vec!["read"]),
            ("other", vec!["read"]),
        ]
    );
}
