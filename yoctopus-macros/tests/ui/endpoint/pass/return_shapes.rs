// Every return shape: nothing, `()`, any `Serialize` value, `Reply<S, T>`, `Reply<S>`, and
// `Result<T, E>` around each with `E: Display`.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
    }

    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Welcome {
        pub message: String,
    }

    #[derive(Debug)]
    pub struct Refused;

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("refused")
        }
    }

    #[endpoint(method = "nothing")]
    async fn nothing() {}

    #[endpoint(method = "unit")]
    async fn unit() -> () {}

    #[endpoint(method = "string")]
    async fn string() -> String {
        String::new()
    }

    #[endpoint(method = "str")]
    async fn str() -> &'static str {
        ""
    }

    #[endpoint(method = "number")]
    async fn number() -> u64 {
        0
    }

    #[endpoint(method = "json")]
    async fn json() -> serde_json::Value {
        serde_json::json!({ "ok": true })
    }

    #[endpoint(method = "struct")]
    async fn welcome() -> Welcome {
        Welcome {
            message: String::new(),
        }
    }

    #[endpoint(method = "tuple")]
    async fn tuple() -> (u32, String) {
        (1, String::new())
    }

    #[endpoint(method = "option")]
    async fn option() -> Option<Vec<String>> {
        None
    }

    #[endpoint(method = "reply")]
    async fn reply() -> Reply<Settings, Welcome> {
        Reply::new(Welcome {
            message: String::new(),
        })
        .settings(Settings {
            authenticated: true,
        })
    }

    #[endpoint(method = "only-settings")]
    async fn only_settings() -> Reply<Settings> {
        Reply::only_settings(Settings::default())
    }

    #[endpoint(method = "result-reply")]
    async fn result_reply() -> Result<Reply<Settings, Welcome>, Refused> {
        Err(Refused)
    }

    #[endpoint(method = "result-data")]
    async fn result_data() -> Result<Welcome, std::io::Error> {
        Err(std::io::Error::other("down"))
    }

    #[endpoint(method = "result-unit")]
    async fn result_unit() -> Result<(), String> {
        Ok(())
    }

    #[endpoint(method = "result-path")]
    async fn result_path() -> std::result::Result<u32, &'static str> {
        Ok(1)
    }
}

fn main() {
    let _ = auth::plugin();
}
