//! The `yoctopus` plugin, installed on every server: what a connection is (address, port, TLS)
//! and a label the client may give it.
//!
//! It is written with the same public macros as any user's plugin.

use crate::prelude::*;

/// The `yoctopus` plugin: connection metadata and `yoctopus:label` `update`.
#[plugin(name = "yoctopus")]
pub mod yoctopus {
    use crate::prelude::*;

    /// Facts about the connection, set when it opens; only `label` changes afterwards. On the
    /// wire they keep the original's names: `label`, `isSecure`, `port`, `remoteAddress`.
    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct Settings {
        /// A human-readable name the client gave its connection.
        pub label: Option<String>,
        /// Whether the connection came over TLS (`wss://`).
        pub is_secure: bool,
        /// The server's port.
        pub port: u16,
        /// The client's IP address.
        pub remote_address: String,
    }

    /// Fills in what the upgrade request says about the connection, before any other plugin's
    /// `connection_opened` listener runs (this plugin is registered first).
    #[on(connection_opened)]
    async fn opened(connection: Connection) -> Result<(), crate::SettingsError> {
        let (secure, port, remote) = (
            connection.is_secure(),
            connection.local_port(),
            connection.remote_addr().ip().to_string(),
        );
        connection.update(|settings: &mut Settings| {
            settings.is_secure = secure;
            settings.port = port;
            settings.remote_address = remote;
        })
    }

    /// `yoctopus:label` `update`, `data` a string: sets the connection's label.
    #[endpoint(name = "label", method = "update")]
    async fn label(label: String, connection: Connection) -> Result<(), crate::SettingsError> {
        connection.update(|settings: &mut Settings| settings.label = Some(label))
    }
}
