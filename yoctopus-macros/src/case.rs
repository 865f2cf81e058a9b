//! `rename_all` styles for request field and variant names.

/// The styles `#[format(rename_all = "...")]` accepts.
pub(crate) const STYLES: &[&str] = &[
    "lowercase",
    "UPPERCASE",
    "PascalCase",
    "camelCase",
    "snake_case",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
];

/// Renames `ident` (a field in snake_case or a variant in PascalCase) to `style`; `None` for an
/// unknown style.
pub(crate) fn rename(ident: &str, style: &str) -> Option<String> {
    let words = words(ident);
    let capitalized = || {
        words
            .iter()
            .map(|word| capitalize(word))
            .collect::<String>()
    };
    Some(match style {
        "lowercase" => words.concat(),
        "UPPERCASE" => words.concat().to_uppercase(),
        "PascalCase" => capitalized(),
        "camelCase" => {
            let pascal = capitalized();
            let mut chars = pascal.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_lowercase().chain(chars).collect()
            })
        }
        "snake_case" => words.join("_"),
        "SCREAMING_SNAKE_CASE" => words.join("_").to_uppercase(),
        "kebab-case" => words.join("-"),
        _ => return None,
    })
}

/// Lowercase words: split at `_` and before each uppercase letter that follows a lowercase one.
fn words(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in ident.chars() {
        if c == '_' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::rename;

    #[test]
    fn styles() {
        assert_eq!(rename("user_id", "camelCase").unwrap(), "userId");
        assert_eq!(rename("user_id", "PascalCase").unwrap(), "UserId");
        assert_eq!(rename("user_id", "kebab-case").unwrap(), "user-id");
        assert_eq!(rename("InProgress", "snake_case").unwrap(), "in_progress");
        assert_eq!(
            rename("InProgress", "SCREAMING_SNAKE_CASE").unwrap(),
            "IN_PROGRESS"
        );
        assert_eq!(rename("Active", "lowercase").unwrap(), "active");
        assert_eq!(rename("Active", "camelCase").unwrap(), "active");
        assert!(rename("x", "Title Case").is_none());
    }
}
