// The endpoint takes two request formats; the caret sits on the second one's type.
use yoctopus_core::prelude::*;

#[plugin]
mod chat {
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub struct Message {
        pub text: String,
    }

    #[derive(RequestFormat)]
    pub struct Room {
        pub name: String,
    }

    #[endpoint(method = "create")]
    async fn message(_message: Message, _connection: Connection, _room: Room) {}
}

fn main() {}
