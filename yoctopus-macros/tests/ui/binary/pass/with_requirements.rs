// A binary handler with requirements on another plugin's settings and its own, taking the bytes
// and the extractors of its connection; the generated definition carries it.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        pub quota: u32,
    }
}

#[plugin]
mod uploads {
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Bytes, PushError};

    use super::auth;

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub paused: bool,
    }

    #[binary(requires(auth.authenticated, auth.quota > 0, !self.paused))]
    async fn upload(
        bytes: Bytes,
        _auth: ConnectionSettings<auth::Settings>,
        _id: ConnectionId,
        notify: Notify,
        _connection: Connection,
    ) -> Result<(), PushError> {
        notify.send("stored", &bytes.len())
    }
}

fn main() {
    assert!(uploads::__yoctopus_plugin_def.binary.is_some());
    assert!(auth::__yoctopus_plugin_def.binary.is_none());
}
