//! Routes: the settings by which a cluster routes multicasts and register queries to only the
//! nodes that can match them.
//!
//! A route names one setting of one plugin (`chat.room`). A connection whose setting holds a
//! scalar (a string, a number, a bool) is on that value's *topic*; a filter that pins the
//! setting to a scalar (`{"chat": {"room": "general"}}`) concerns only the nodes holding a
//! connection on the topic, and goes to the topic's subject rather than to every node. Which
//! settings route is the application's to declare ([`Cluster::route_by`](super::Cluster)):
//! nothing at run time can tell which settings its filters will pin.
//!
//! A topic travels as a 64-bit token, FNV-1a of the plugin, the setting and the value's JSON:
//! the same on every node whatever it was built with. Two topics sharing a token only share a
//! subject; every node still evaluates the whole filter, so a collision costs work, not
//! correctness.

use serde_json::Value;

use crate::connection::Connection;
use crate::filter::SettingsFilter;

/// A topic's token.
pub(crate) type Token = u64;

/// One routing setting, by the wire names a filter uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) plugin: String,
    pub(crate) setting: String,
}

/// The routes of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    pub(crate) fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The topic `filter` concerns: the first route it pins to a scalar.
    pub(crate) fn topic_of(&self, filter: &SettingsFilter) -> Option<Token> {
        self.routes.iter().find_map(|route| {
            let wanted = filter.pinned(&route.plugin, &route.setting)?;
            is_scalar(wanted).then(|| token(route, wanted))
        })
    }

    /// The topics `connection` is on now, sorted.
    pub(crate) fn topics_of(&self, connection: &Connection) -> Vec<Token> {
        let registry = connection.registry();
        let mut topics: Vec<Token> = self
            .routes
            .iter()
            .filter_map(|route| {
                let index = registry.index_of_plugin(&route.plugin)?;
                let value = connection.read_store(|store, registry| {
                    store.read_slot(index, registry, |slot| slot.field(&route.setting))
                })?;
                is_scalar(&value).then(|| token(route, &value))
            })
            .collect();
        topics.sort_unstable();
        topics.dedup();
        topics
    }

    /// A fingerprint of the routes, in order: servers of one cluster must route alike.
    pub(crate) fn fingerprint(&self) -> u64 {
        let names: Vec<Value> = self
            .routes
            .iter()
            .map(|route| Value::String(format!("{}.{}", route.plugin, route.setting)))
            .collect();
        let all = Route {
            plugin: String::new(),
            setting: String::new(),
        };
        token(&all, &Value::Array(names))
    }

    /// Whether a change of plugin `plugin`'s settings may change a connection's topics.
    pub(crate) fn routes_plugin(&self, plugin: &str) -> bool {
        self.routes.iter().any(|route| route.plugin == plugin)
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// FNV-1a over `plugin`, `setting` and `value`'s JSON, each followed by a zero byte.
fn token(route: &Route, value: &Value) -> Token {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let json = value.to_string();
    let parts = [
        route.plugin.as_bytes(),
        route.setting.as_bytes(),
        json.as_bytes(),
    ];
    parts
        .iter()
        .flat_map(|part| part.iter().chain(&[0u8]))
        .fold(OFFSET, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{token, Route, Routes};
    use crate::filter::SettingsFilter;

    fn room() -> Route {
        Route {
            plugin: "chat".to_owned(),
            setting: "room".to_owned(),
        }
    }

    #[test]
    fn a_filter_pinning_a_route_to_a_scalar_has_a_topic() {
        let routes = Routes::new(vec![room()]);
        let general = SettingsFilter::all().with("chat", "room", "general");
        assert_eq!(
            routes.topic_of(&general),
            Some(token(&room(), &json!("general")))
        );
        let with_more = general.clone().with("chat", "user", "ann");
        assert_eq!(routes.topic_of(&with_more), routes.topic_of(&general));
        for unrouted in [
            SettingsFilter::all(),
            SettingsFilter::all().with("chat", "user", "ann"),
            SettingsFilter::all().with("chat", "room", json!({"a": 1})),
            SettingsFilter::all().with("chat", "room", json!(null)),
        ] {
            assert_eq!(routes.topic_of(&unrouted), None, "{unrouted:?}");
        }
        assert_eq!(Routes::default().topic_of(&general), None);
    }

    #[test]
    fn routing_alike_is_recognised() {
        let user = Route {
            plugin: "chat".to_owned(),
            setting: "user".to_owned(),
        };
        let one = Routes::new(vec![room()]);
        assert_eq!(one.fingerprint(), Routes::new(vec![room()]).fingerprint());
        assert_ne!(one.fingerprint(), Routes::default().fingerprint());
        assert_ne!(
            one.fingerprint(),
            Routes::new(vec![room(), user]).fingerprint()
        );
    }

    #[test]
    fn tokens_are_fixed_and_tell_values_apart() {
        // FNV-1a is specified: nodes built apart agree on it.
        assert_eq!(
            token(&room(), &json!("general")),
            token(&room(), &json!("general"))
        );
        assert_ne!(
            token(&room(), &json!("general")),
            token(&room(), &json!("random"))
        );
        assert_ne!(token(&room(), &json!("1")), token(&room(), &json!(1)));
    }
}
