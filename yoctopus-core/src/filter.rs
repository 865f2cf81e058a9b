//! Settings filters: which connections a multicast or a register query is about, in the
//! original's JSON form, `{"auth": {"isAdmin": true}}`.
//!
//! The top level names plugins, the level below their settings by wire name. A filter value that
//! is an object matches a setting that holds at least its keys, each matching in turn (a subset);
//! any other value (a string, a number, a bool, `null`, an array) matches only an equal value.
//! The empty filter `{}` matches every connection. A connection is read one setting at a time, so
//! a filter costs what it names, not the connection's whole store.

use serde_json::{Map, Value};

use crate::connection::Connection;
use crate::settings::SettingsRegistry;

/// Which connections to reach, by their settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct SettingsFilter {
    plugins: Map<String, Value>,
}

/// A filter that is not `{"plugin": {"setting": value, ...}, ...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a settings filter is an object of plugins, each an object of settings: {problem}")]
pub struct FilterError {
    problem: String,
}

impl SettingsFilter {
    /// Every connection.
    pub fn all() -> Self {
        Self {
            plugins: Map::new(),
        }
    }

    /// The filter in its JSON form.
    pub fn from_json(value: Value) -> Result<Self, FilterError> {
        let Value::Object(plugins) = value else {
            return Err(FilterError {
                problem: format!("got {value}"),
            });
        };
        if let Some((plugin, settings)) = plugins.iter().find(|(_, settings)| !settings.is_object())
        {
            return Err(FilterError {
                problem: format!("`{plugin}` is {settings}, not an object of settings"),
            });
        }
        Ok(Self { plugins })
    }

    /// Adds `plugin.setting == value` to the filter.
    pub fn with(mut self, plugin: &str, setting: &str, value: impl Into<Value>) -> Self {
        if let Value::Object(settings) = self
            .plugins
            .entry(plugin.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            settings.insert(setting.to_owned(), value.into());
        }
        self
    }

    /// The value the filter wants for `plugin.setting`, when it names that setting.
    pub(crate) fn pinned(&self, plugin: &str, setting: &str) -> Option<&Value> {
        self.plugins.get(plugin)?.get(setting)
    }

    /// Whether `connection`'s settings match.
    pub fn matches(&self, connection: &Connection) -> bool {
        self.resolve(connection.registry()).matches(connection)
    }

    /// The filter with its plugins looked up in a server's settings table, to test many of its
    /// connections without looking a name up for each.
    pub(crate) fn resolve(&self, registry: &SettingsRegistry) -> ResolvedFilter<'_> {
        let clauses = self
            .plugins
            .iter()
            .map(|(plugin, settings)| {
                let index = registry.index_of_plugin(plugin)?;
                let Value::Object(settings) = settings else {
                    return None;
                };
                Some(settings.iter().map(move |(setting, wanted)| Clause {
                    index,
                    setting,
                    wanted,
                }))
            })
            .collect::<Option<Vec<_>>>()
            .map(|plugins| plugins.into_iter().flatten().collect());
        ResolvedFilter { clauses }
    }
}

/// A [`SettingsFilter`] ready to test the connections of one server.
pub(crate) struct ResolvedFilter<'a> {
    /// Every setting the filter names; `None` when it names a plugin the server does not have,
    /// so no connection matches.
    clauses: Option<Vec<Clause<'a>>>,
}

/// One setting a filter names: the plugin's slot, the setting's wire name, the value it wants.
struct Clause<'a> {
    index: usize,
    setting: &'a str,
    wanted: &'a Value,
}

impl ResolvedFilter<'_> {
    /// Whether `connection`'s settings match, read under one lock.
    pub(crate) fn matches(&self, connection: &Connection) -> bool {
        let Some(clauses) = &self.clauses else {
            return false;
        };
        if clauses.is_empty() {
            return true;
        }
        connection.read_store(|store, registry| {
            clauses.iter().all(|clause| {
                store.read_slot(clause.index, registry, |slot| {
                    slot.field_matches(clause.setting, clause.wanted) == Some(true)
                })
            })
        })
    }
}

impl TryFrom<Value> for SettingsFilter {
    type Error = FilterError;

    fn try_from(value: Value) -> Result<Self, FilterError> {
        Self::from_json(value)
    }
}

impl TryFrom<&Value> for SettingsFilter {
    type Error = FilterError;

    fn try_from(value: &Value) -> Result<Self, FilterError> {
        Self::from_json(value.clone())
    }
}

impl From<SettingsFilter> for Value {
    fn from(filter: SettingsFilter) -> Self {
        Value::Object(filter.plugins)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SettingsFilter;
    use crate::json_match::contains;

    #[test]
    fn objects_match_as_subsets_and_the_rest_by_equality() {
        let profile =
            json!({"name": "al", "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "1"}});
        assert!(contains(&profile, &json!({"address": {"city": "Oslo"}})));
        assert!(contains(&profile, &json!({"tags": ["a", "b"]})));
        assert!(!contains(&profile, &json!({"tags": ["a"]})));
        assert!(!contains(&profile, &json!({"address": {"city": "Bergen"}})));
        assert!(contains(&json!(null), &json!(null)));
        assert!(!contains(&json!(1), &json!(1.5)));
    }

    #[test]
    fn only_objects_of_objects_are_filters() {
        assert!(SettingsFilter::from_json(json!({"auth": {"isAdmin": true}})).is_ok());
        assert!(SettingsFilter::from_json(json!({})).is_ok());
        assert!(SettingsFilter::from_json(json!({"auth": true})).is_err());
        assert!(SettingsFilter::from_json(json!([1])).is_err());
        assert_eq!(
            SettingsFilter::all().with("auth", "userId", "u1"),
            SettingsFilter::from_json(json!({"auth": {"userId": "u1"}})).unwrap()
        );
    }
}
