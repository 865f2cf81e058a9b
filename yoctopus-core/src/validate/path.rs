//! Field paths such as `user.address.zip` or `tags[2]`, kept on the stack while a request is walked.

use std::fmt;

/// Where a value sits inside a request's `data`.
///
/// Each level borrows its parent, so entering a field costs nothing; the path is only written out
/// when an error is recorded. The root prints as `data`; fields below it print without that prefix.
#[derive(Debug, Clone, Copy)]
pub struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    segment: Segment<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// The whole `data` value.
    pub const fn root() -> FieldPath<'static> {
        FieldPath {
            parent: None,
            segment: Segment::Root,
        }
    }

    /// The field `key` of this object: a declared field, or an entry of a map the client keys.
    pub fn key(&'a self, key: &'a str) -> FieldPath<'a> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    /// The element `index` of this array.
    pub fn index(&'a self, index: usize) -> FieldPath<'a> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    fn write_below_root(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent_is_root = match self.parent {
            Some(parent) => {
                parent.write_below_root(f)?;
                matches!(parent.segment, Segment::Root)
            }
            None => true,
        };
        match self.segment {
            Segment::Root => Ok(()),
            Segment::Key(key) if parent_is_root => f.write_str(key),
            Segment::Key(key) => write!(f, ".{key}"),
            Segment::Index(index) => write!(f, "[{index}]"),
        }
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.segment {
            Segment::Root => f.write_str("data"),
            Segment::Index(_)
                if self
                    .parent
                    .is_some_and(|p| matches!(p.segment, Segment::Root)) =>
            {
                f.write_str("data")?;
                self.write_below_root(f)
            }
            _ => self.write_below_root(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FieldPath;

    #[test]
    fn paths_print_the_way_clients_read_them() {
        let root = FieldPath::root();
        let user = root.key("user");
        let address = user.key("address");
        let zip = address.key("zip");
        let tags = root.key("tags");
        let second = tags.index(2);
        let top_index = root.index(0);
        assert_eq!(root.to_string(), "data");
        assert_eq!(user.to_string(), "user");
        assert_eq!(zip.to_string(), "user.address.zip");
        assert_eq!(second.to_string(), "tags[2]");
        assert_eq!(top_index.to_string(), "data[0]");
    }
}
