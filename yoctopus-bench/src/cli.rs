//! Command-line flags of the harness's programs: `--name value` or `--name=value`.
//!
//! The programs take a handful of numeric flags each, so a few lines of parsing serve better than
//! an argument-parsing dependency. Unknown flags are an error rather than being ignored, so a typo
//! in a benchmark command cannot silently run a different benchmark.

use std::str::FromStr;

/// Parsed command-line flags.
#[derive(Debug, Default)]
pub struct Flags {
    positional: Vec<String>,
    named: Vec<(String, String)>,
}

impl Flags {
    /// Parses `args` (without the program name). `--flag` without a value means `true`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                flags.positional.push(arg);
                continue;
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => match args.next_if(|next| !next.starts_with("--")) {
                    Some(value) => (name.to_owned(), value),
                    None => (name.to_owned(), "true".to_owned()),
                },
            };
            if name.is_empty() {
                return Err(format!("malformed flag `{arg}`"));
            }
            flags.named.push((name, value));
        }
        Ok(flags)
    }

    /// Fails on a flag not in `known`, naming the flags that are.
    pub fn allow_only(&self, known: &[&str]) -> Result<(), String> {
        match self
            .named
            .iter()
            .find(|(name, _)| !known.contains(&name.as_str()))
        {
            Some((name, _)) => Err(format!(
                "unknown flag `--{name}`; expected one of {}",
                known
                    .iter()
                    .map(|known| format!("`--{known}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(()),
        }
    }

    /// The arguments that are not flags, in order.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }

    /// The value of `--name` as text, if given (the last one wins).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.named
            .iter()
            .rev()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `--name`, or `default` when it is absent.
    pub fn get_or<T>(&self, name: &str, default: T) -> Result<T, String>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.text(name) {
            Some(value) => value
                .parse()
                .map_err(|error| format!("`--{name} {value}`: {error}")),
            None => Ok(default),
        }
    }

    /// The value of `--name`, which must be given.
    pub fn required<T>(&self, name: &str) -> Result<T, String>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let value = self
            .text(name)
            .ok_or_else(|| format!("`--{name}` is required"))?;
        value
            .parse()
            .map_err(|error| format!("`--{name} {value}`: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::Flags;

    fn flags(args: &[&str]) -> Flags {
        Flags::parse(args.iter().map(|arg| (*arg).to_owned())).expect("valid flags")
    }

    #[test]
    fn flags_take_the_next_argument_or_an_equals_sign_value() {
        let flags = flags(&[
            "idle",
            "--connections",
            "10",
            "--addr=127.0.0.1:1",
            "--quiet",
        ]);
        assert_eq!(flags.positional(), ["idle"]);
        assert_eq!(flags.required::<usize>("connections"), Ok(10));
        assert_eq!(flags.text("addr"), Some("127.0.0.1:1"));
        assert_eq!(flags.get_or("quiet", false), Ok(true));
        assert_eq!(flags.get_or("rounds", 5), Ok(5));
    }

    #[test]
    fn unknown_flags_and_bad_values_are_errors() {
        let flags = flags(&["--rounds", "five", "--typo", "1"]);
        assert!(flags.get_or::<u32>("rounds", 5).is_err());
        assert!(flags
            .allow_only(&["rounds"])
            .unwrap_err()
            .contains("--typo"));
    }
}
