//! Who hears of which model: connection ids by model, and by model and row.
//!
//! Subscriptions hold ids, not connections: a push goes through the register, which knows
//! whether the connection is still open (and, in a cluster, where it is). Each connection's
//! subscriptions are also listed by connection, so closing it removes them all at once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::Value;
use yoctopus_core::ConnectionId;

use super::error::TrackerError;

/// A row's primary key as subscriptions compare it: `42` and `"42"` are the same row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct InstanceKey(String);

impl InstanceKey {
    /// The key of a JSON primary key value (a number or a string).
    pub(crate) fn of(value: &Value) -> Result<Self, TrackerError> {
        match value {
            Value::Number(number) => Ok(Self(number.to_string())),
            Value::String(text) => Ok(Self(text.clone())),
            other => Err(TrackerError::InvalidInstance(other.to_string())),
        }
    }
}

/// One subscription of a connection, as [`ChangeTracker::subscriptions_of`](super::ChangeTracker::subscriptions_of) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The model.
    pub model: String,
    /// The row's primary key, for an instance subscription; `None` for every row.
    pub instance: Option<String>,
}

#[derive(Default)]
struct ModelSubscribers {
    every_row: HashSet<ConnectionId>,
    rows: HashMap<InstanceKey, HashSet<ConnectionId>>,
}

#[derive(Default)]
struct Table {
    /// By model index.
    models: Vec<ModelSubscribers>,
    /// What each connection subscribed to, to remove it on close.
    by_connection: HashMap<ConnectionId, Vec<(usize, Option<InstanceKey>)>>,
}

/// Every subscription of a tracker.
pub(crate) struct Subscriptions {
    table: Mutex<Table>,
}

impl Subscriptions {
    pub(crate) fn new(models: usize) -> Self {
        let mut table = Table::default();
        table.models.resize_with(models, ModelSubscribers::default);
        Self {
            table: Mutex::new(table),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // Nothing in here panics while holding the lock; a poisoned table is still consistent.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes `id` to every row of `model`, or to one row; answers whether it is new.
    pub(crate) fn add(&self, model: usize, id: ConnectionId, row: Option<InstanceKey>) -> bool {
        let mut table = self.table();
        let subscribers = &mut table.models[model];
        let added = match &row {
            None => subscribers.every_row.insert(id),
            Some(key) => subscribers.rows.entry(key.clone()).or_default().insert(id),
        };
        if added {
            table
                .by_connection
                .entry(id)
                .or_default()
                .push((model, row));
        }
        added
    }

    /// Subscribes `id` to every row of each of `models` (the auto-subscriptions of a new
    /// connection), under one lock.
    pub(crate) fn add_all(&self, models: &[usize], id: ConnectionId) {
        if models.is_empty() {
            return;
        }
        let mut table = self.table();
        let mut added = Vec::with_capacity(models.len());
        for &model in models {
            if table.models[model].every_row.insert(id) {
                added.push((model, None));
            }
        }
        table.by_connection.entry(id).or_default().extend(added);
    }

    /// Removes `id`'s subscription to `model`: with `row`, to that row only; without, every one
    /// of its subscriptions to the model. Answers whether there was one.
    pub(crate) fn remove(&self, model: usize, id: ConnectionId, row: Option<&InstanceKey>) -> bool {
        let mut table = self.table();
        let Table {
            models,
            by_connection,
        } = &mut *table;
        let Some(listed) = by_connection.get_mut(&id) else {
            return false;
        };
        let before = listed.len();
        listed.retain(|(listed_model, listed_row)| {
            let matches = *listed_model == model && (row.is_none() || listed_row.as_ref() == row);
            if matches {
                remove_one(&mut models[model], id, listed_row.as_ref());
            }
            !matches
        });
        let removed = listed.len() != before;
        if listed.is_empty() {
            by_connection.remove(&id);
        }
        removed
    }

    /// Removes every subscription of `id` (its connection closed).
    pub(crate) fn remove_connection(&self, id: ConnectionId) {
        let mut table = self.table();
        let Some(listed) = table.by_connection.remove(&id) else {
            return;
        };
        for (model, row) in listed {
            remove_one(&mut table.models[model], id, row.as_ref());
        }
    }

    /// The connections to tell of a change of `model`'s row `row`: its every-row subscribers and
    /// that row's, each once.
    pub(crate) fn targets(&self, model: usize, row: Option<&InstanceKey>) -> Vec<ConnectionId> {
        let table = self.table();
        let subscribers = &table.models[model];
        let mut targets: Vec<ConnectionId> = subscribers.every_row.iter().copied().collect();
        if let Some(row_subscribers) = row.and_then(|row| subscribers.rows.get(row)) {
            targets.extend(
                row_subscribers
                    .iter()
                    .filter(|id| !subscribers.every_row.contains(id)),
            );
        }
        targets
    }

    /// `id`'s subscriptions, as (model index, row).
    pub(crate) fn of(&self, id: ConnectionId) -> Vec<(usize, Option<String>)> {
        let table = self.table();
        table
            .by_connection
            .get(&id)
            .map(|listed| {
                listed
                    .iter()
                    .map(|(model, row)| (*model, row.as_ref().map(|key| key.0.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many subscriptions there are in all.
    pub(crate) fn count(&self) -> usize {
        self.table().by_connection.values().map(Vec::len).sum()
    }
}

fn remove_one(subscribers: &mut ModelSubscribers, id: ConnectionId, row: Option<&InstanceKey>) {
    match row {
        None => {
            subscribers.every_row.remove(&id);
        }
        Some(key) => {
            if let Some(row_subscribers) = subscribers.rows.get_mut(key) {
                row_subscribers.remove(&id);
                if row_subscribers.is_empty() {
                    subscribers.rows.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(sequence: u64) -> ConnectionId {
        format!("00000000000000a7-{sequence}")
            .parse()
            .expect("a connection id")
    }

    fn key(value: Value) -> InstanceKey {
        InstanceKey::of(&value).expect("a key")
    }

    #[test]
    fn a_row_subscription_hears_only_its_row() {
        let subscriptions = Subscriptions::new(2);
        assert!(subscriptions.add(0, id(1), Some(key(42.into()))));
        assert!(subscriptions.add(0, id(2), None));
        assert_eq!(subscriptions.targets(0, Some(&key(41.into()))), vec![id(2)]);
        let mut both = subscriptions.targets(0, Some(&key("42".into())));
        both.sort();
        assert_eq!(both, vec![id(1), id(2)]);
        assert!(subscriptions.targets(1, Some(&key(42.into()))).is_empty());
    }

    #[test]
    fn each_connection_is_told_once() {
        let subscriptions = Subscriptions::new(1);
        subscriptions.add(0, id(1), None);
        subscriptions.add(0, id(1), Some(key(5.into())));
        assert!(
            !subscriptions.add(0, id(1), None),
            "subscribing twice adds nothing"
        );
        assert_eq!(subscriptions.targets(0, Some(&key(5.into()))), vec![id(1)]);
    }

    #[test]
    fn removing_by_model_removes_its_row_subscriptions_too() {
        let subscriptions = Subscriptions::new(2);
        subscriptions.add(0, id(1), None);
        subscriptions.add(0, id(1), Some(key(5.into())));
        subscriptions.add(1, id(1), None);
        assert!(subscriptions.remove(0, id(1), None));
        assert!(!subscriptions.remove(0, id(1), None));
        assert!(subscriptions.targets(0, Some(&key(5.into()))).is_empty());
        assert_eq!(subscriptions.of(id(1)), vec![(1, None)]);
    }

    #[test]
    fn a_closed_connection_leaves_nothing_behind() {
        let subscriptions = Subscriptions::new(2);
        subscriptions.add_all(&[0, 1], id(1));
        subscriptions.add(0, id(1), Some(key(5.into())));
        subscriptions.add(1, id(2), None);
        assert_eq!(subscriptions.count(), 4);
        subscriptions.remove_connection(id(1));
        assert_eq!(subscriptions.count(), 1);
        assert!(subscriptions.targets(0, Some(&key(5.into()))).is_empty());
        assert_eq!(subscriptions.targets(1, None), vec![id(2)]);
    }

    #[test]
    fn instance_ids_are_numbers_or_strings() {
        assert!(InstanceKey::of(&Value::Bool(true)).is_err());
        assert_eq!(key(42.into()), key("42".into()));
    }
}
