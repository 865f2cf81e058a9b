//! One recorded change, and where a tracker stands in the change table.

use serde::Serialize;

use super::subscribers::InstanceKey;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// A row was inserted.
    Create,
    /// A row was updated.
    Update,
    /// A row was deleted; the push carries its public fields as they were.
    Delete,
}

impl Operation {
    /// As the triggers write it.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// A place in the change table, in commit order: the commit, then the change within it. On
/// SQLite, where one writer at a time makes change ids commit order, both are the change's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Position {
    pub(crate) commit: i64,
    pub(crate) change: i64,
}

/// A change as the change table records it.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) position: Position,
    /// What changed, or why the row could not be read (never expected: the tracker's own
    /// triggers wrote it; such a row is logged and passed over, not read again and again).
    pub(crate) body: Result<ChangeBody, String>,
}

/// What a change says.
#[derive(Debug)]
pub(crate) struct ChangeBody {
    pub(crate) model: String,
    pub(crate) operation: Operation,
    /// The primary key, for instance subscriptions.
    pub(crate) key: Option<InstanceKey>,
    /// The public fields, a JSON object as the trigger captured it.
    pub(crate) fields: Box<serde_json::value::RawValue>,
}

impl Change {
    /// A row of the change table.
    pub(crate) fn from_row(
        position: Position,
        model: String,
        operation: &str,
        key: &str,
        fields: String,
    ) -> Self {
        let body = Operation::parse(operation)
            .ok_or_else(|| format!("unknown operation `{operation}`"))
            .and_then(|operation| {
                let fields = serde_json::value::RawValue::from_string(fields)
                    .map_err(|error| format!("fields are not JSON: {error}"))?;
                let key = serde_json::from_str(key)
                    .ok()
                    .and_then(|key| InstanceKey::of(&key).ok());
                Ok(ChangeBody {
                    model,
                    operation,
                    key,
                    fields,
                })
            });
        Self { position, body }
    }
}
