// Every form of `#[on]`: each lifecycle event with the extractors it offers, a setting of another
// plugin (by `super::` path and by a `use`d name), of the plugin itself (`self`), of the bundled
// plugin, an upgrade check with and without settings, `Result` returns, `#[provide]`, renamed
// settings, and the generated tables.
use yoctopus_core::prelude::*;

pub struct Clock {
    pub now: u64,
}

#[plugin]
mod auth {
    use yoctopus_core::prelude::*;

    #[settings(rename_all = "camelCase")]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub authenticated: bool,
        #[settings(rename = "isAdmin")]
        pub admin: bool,
        pub user_id: Option<String>,
    }

    #[on(upgrade)]
    async fn check(upgrade: UpgradeRequest, _clock: State<super::Clock>) -> Result<Settings, Refusal> {
        match upgrade.query_param("user") {
            Some(user) => Ok(Settings {
                user_id: Some(user.into_owned()),
                ..Settings::default()
            }),
            None => Err(Refusal::unauthorized("no user")),
        }
    }

    #[on(self.admin)]
    async fn admin_changed(change: Changed<bool>) {
        let _ = (change.value, change.old, change.plugin(), change.setting());
    }

    #[provide]
    fn clock() -> super::Clock {
        super::Clock { now: 0 }
    }
}

#[plugin]
mod logger {
    use yoctopus_core::prelude::*;

    use super::auth;

    #[on(upgrade)]
    async fn allow_all() -> Result<(), Refusal> {
        Ok(())
    }

    #[on(connection_opened)]
    async fn opened(_: Connection, _: ConnectionId, _: UpgradeRequest, _: Notify, _: ConnectionSettings<auth::Settings>) {}

    #[on(connection_closed)]
    async fn closed(_: Closed, _: ConnectionSettings<auth::Settings>, _: State<super::Clock>) {}

    #[on(request_received)]
    async fn received(meta: Meta, data: Data) -> Result<Data, Reject> {
        if meta.method == "delete" {
            return Err(Reject::new("no deletes"));
        }
        Ok(data)
    }

    #[on(request_received)]
    async fn looks(_: Meta) -> Result<(), String> {
        Ok(())
    }

    #[on(response_prepared)]
    async fn prepared(data: Data) -> Data {
        data
    }

    #[on(response_sent)]
    async fn sent(_: Meta, _: ConnectionId) {}

    #[on(connection_changed)]
    async fn changed(_: ConnectionChanged) -> Result<(), std::fmt::Error> {
        Ok(())
    }

    #[on(auth.authenticated)]
    async fn authenticated(_: Changed<bool>, _: Connection) {}

    #[on(super::auth.user_id)]
    async fn user(_: Changed<Option<String>>) {}

    #[on(yoctopus_core::yoctopus.label)]
    async fn labelled() {}

    #[endpoint(name = "meta", method = "read")]
    async fn meta(meta: Meta) -> String {
        meta.endpoint
    }
}

fn main() {
    use yoctopus_core::{ListenerEvent, PluginSettings};

    let logger = &logger::__yoctopus_plugin_def;
    let events: Vec<ListenerEvent> = logger.listeners.iter().map(|listener| listener.event).collect();
    assert_eq!(
        events,
        [
            ListenerEvent::ConnectionOpened,
            ListenerEvent::ConnectionClosed,
            ListenerEvent::RequestReceived,
            ListenerEvent::RequestReceived,
            ListenerEvent::ResponsePrepared,
            ListenerEvent::ResponseSent,
            ListenerEvent::ConnectionChanged,
        ]
    );
    let received = &logger.listeners[2];
    assert!(received.reads_data && received.transforms && received.reads_meta);
    let looks = &logger.listeners[3];
    assert!(!looks.reads_data && !looks.transforms && looks.reads_meta);
    assert_eq!(logger.setting_listeners.len(), 3);
    assert_eq!(logger.upgrade_checks.len(), 1);
    assert_eq!(logger.listeners[0].name, "logger::opened");
    let auth = &auth::__yoctopus_plugin_def;
    assert_eq!((auth.setting_listeners.len(), auth.upgrade_checks.len(), auth.provides.len()), (1, 1, 1));
    assert_eq!(auth::Settings::FIELDS, ["authenticated", "isAdmin", "userId"]);
    assert_eq!(auth::Settings::wire_name("user_id"), "userId");
}
