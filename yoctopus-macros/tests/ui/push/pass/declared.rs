// Declared pushes: a struct and an enum, made into pushes by type and listed in the API.
use yoctopus_core::prelude::*;

#[plugin]
mod room {
    use yoctopus_core::prelude::*;

    /// Someone joined.
    #[push("joined")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    pub struct Joined {
        pub user: String,
    }

    /// The room's state.
    #[push("room-state")]
    #[derive(serde::Serialize, schemars::JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum State {
        Open,
        Closed,
    }

    #[endpoint(method = "read")]
    async fn state() -> State {
        State::Open
    }
}

fn main() {
    let push = Push::of(&room::Joined { user: "ada".into() }).unwrap();
    assert_eq!(
        push.as_json(),
        r#"{"meta":{"method":"notify","type":"joined"},"data":{"user":"ada"}}"#
    );
    let api = Server::builder().plugin(room::plugin()).api().unwrap();
    let schema = api.json_schema("room");
    assert_eq!(schema["pushes"]["joined"]["description"], "Someone joined.");
    assert_eq!(schema["pushes"]["room-state"]["data"]["$ref"], "#/components/schemas/State");
    assert_eq!(
        schema["endpoints"]["room:state"]["read"]["response"]["$ref"],
        "#/components/schemas/State"
    );
}
