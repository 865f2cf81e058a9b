//! A tracked model: the name clients know it by, the table it lives in, its primary key, and the
//! public fields, the only ones that ever leave the server.
//!
//! Names end up in the triggers' SQL, so they are checked to be plain identifiers here, and
//! checked against the table's columns when the tracker starts: a typo is an error at start, not
//! a push that silently lacks a field.

use super::error::TrackerError;

/// A model whose creates, updates and deletes are pushed to subscribed clients.
///
/// ```
/// use yoctopus_plugins::change_tracker::Model;
///
/// let user = Model::new("User", "users").public_fields(["id", "name"]); // not email, password
/// assert_eq!(user.name(), "User");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    name: String,
    table: String,
    primary_key: String,
    public_fields: Vec<String>,
}

impl Model {
    /// The model `name` (as clients subscribe to it and pushes name it) stored in `table`, with
    /// primary key `id` and no public field yet.
    pub fn new(name: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            table: table.into(),
            primary_key: "id".to_owned(),
            public_fields: Vec::new(),
        }
    }

    /// The primary key column, when it is not `id`: instance subscriptions match on it.
    pub fn primary_key(mut self, column: impl Into<String>) -> Self {
        self.primary_key = column.into();
        self
    }

    /// The columns pushed to clients, in this order; every other column stays on the server, for
    /// creates, updates and deletes alike.
    pub fn public_fields<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.public_fields = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Its primary key column.
    pub fn key(&self) -> &str {
        &self.primary_key
    }

    /// Its public fields.
    pub fn fields(&self) -> &[String] {
        &self.public_fields
    }

    /// Refuses names that are not plain SQL identifiers, and a field named twice.
    pub(crate) fn check_names(&self) -> Result<(), TrackerError> {
        if self.name.is_empty() || self.name.len() > 63 {
            return Err(TrackerError::InvalidName {
                what: "model name",
                name: self.name.clone(),
            });
        }
        check_identifier("table", &self.table)?;
        check_identifier("primary key", &self.primary_key)?;
        for (index, field) in self.public_fields.iter().enumerate() {
            check_identifier("public field", field)?;
            if self.public_fields[..index].contains(field) {
                return Err(TrackerError::DuplicateField {
                    model: self.name.clone(),
                    field: field.clone(),
                });
            }
        }
        Ok(())
    }

    /// Checks that the table exists with the key and every public field among `columns`.
    pub(crate) fn check_columns(&self, columns: &[String]) -> Result<(), TrackerError> {
        if columns.is_empty() {
            return Err(TrackerError::UnknownTable {
                model: self.name.clone(),
                table: self.table.clone(),
            });
        }
        let wanted = std::iter::once(&self.primary_key).chain(&self.public_fields);
        for column in wanted {
            if !columns.contains(column) {
                return Err(TrackerError::UnknownColumn {
                    model: self.name.clone(),
                    table: self.table.clone(),
                    column: column.clone(),
                });
            }
        }
        Ok(())
    }

    /// The name of the tracker's trigger for `operation` on this model's table.
    pub(crate) fn trigger_name(&self, operation: &str) -> String {
        format!("yoctopus_{}_{operation}", self.table)
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 40 characters (so trigger names stay within PostgreSQL's 63).
fn check_identifier(what: &'static str, name: &str) -> Result<(), TrackerError> {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40;
    if plain {
        Ok(())
    } else {
        Err(TrackerError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

/// Quotes a checked identifier for SQL (both databases accept double quotes).
pub(crate) fn quoted(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

/// Quotes a string as an SQL literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_plain_identifiers_are_refused() {
        let bad_table = Model::new("User", "users; drop table x").public_fields(["id"]);
        assert!(matches!(
            bad_table.check_names(),
            Err(TrackerError::InvalidName { what: "table", .. })
        ));
        let bad_field = Model::new("User", "users").public_fields(["id", "na\"me"]);
        assert!(matches!(
            bad_field.check_names(),
            Err(TrackerError::InvalidName {
                what: "public field",
                ..
            })
        ));
        let twice = Model::new("User", "users").public_fields(["id", "id"]);
        assert!(matches!(
            twice.check_names(),
            Err(TrackerError::DuplicateField { .. })
        ));
        assert!(Model::new("User", "users")
            .public_fields(["id", "name"])
            .check_names()
            .is_ok());
    }

    #[test]
    fn columns_are_checked_against_the_table() {
        let user = Model::new("User", "users").public_fields(["id", "nmae"]);
        let columns = ["id", "name", "email"].map(String::from);
        assert!(matches!(
            user.check_columns(&columns),
            Err(TrackerError::UnknownColumn { column, .. }) if column == "nmae"
        ));
        assert!(matches!(
            user.check_columns(&[]),
            Err(TrackerError::UnknownTable { .. })
        ));
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("O'Brien"), "'O''Brien'");
    }
}
