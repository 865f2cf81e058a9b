//! What can go wrong when a tracker starts or a subscription is made.

/// A change tracker's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A `DATABASE_URL` that is neither `sqlite:` nor `postgres:`.
    #[error(
        "unsupported database URL `{0}`: use sqlite://PATH, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl(String),
    /// A model, table or column name that is not a plain SQL identifier.
    #[error("invalid {what} `{name}`: use letters, digits and `_`, starting with a letter or `_`")]
    InvalidName {
        /// What the name names.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A public field listed twice.
    #[error("model `{model}` lists public field `{field}` twice")]
    DuplicateField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
    /// Two models with one name, or on one table.
    #[error("model `{0}` is declared twice (by name or by table)")]
    DuplicateModel(String),
    /// The model's table does not exist.
    #[error("model `{model}`: table `{table}` does not exist")]
    UnknownTable {
        /// The model.
        model: String,
        /// Its table.
        table: String,
    },
    /// A key or public field that is not a column of the table.
    #[error("model `{model}`: table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The model.
        model: String,
        /// Its table.
        table: String,
        /// The missing column.
        column: String,
    },
    /// A subscription or `auto_subscribe_to` naming a model the tracker does not track.
    #[error("unknown model `{0}`")]
    UnknownModel(String),
    /// An instance id that is neither a number nor a string.
    #[error("an instance id is a number or a string, got {0}")]
    InvalidInstance(String),
    /// More public fields than PostgreSQL's `json_build_object` can capture.
    #[error("model `{model}` has more than {max} public fields")]
    TooManyFields {
        /// The model.
        model: String,
        /// The most there may be.
        max: usize,
    },
    /// The database did not answer a query in time: its connection counts as lost.
    #[error("the database did not answer within {0:?}")]
    Unresponsive(std::time::Duration),
    /// PostgreSQL's notification listener lost its connection.
    #[error("the change listener stopped: {0}")]
    ListenerLost(String),
}
