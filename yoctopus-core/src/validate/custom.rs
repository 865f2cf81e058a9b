//! What a custom validator (`#[format(with = my_check)]`) may return.

use super::{FieldPath, ValidationErrors};

/// The result of a custom validator: `bool`, or `Result<(), E>` whose error is the message.
#[diagnostic::on_unimplemented(
    message = "a custom validator must return `bool` or `Result<(), E>` with `E: Display`, not `{Self}`"
)]
pub trait ValidatorOutcome {
    /// Records a failure for the field at `at` checked by `validator`; returns whether it passed.
    fn record(self, at: &FieldPath<'_>, validator: &str, errors: &mut ValidationErrors) -> bool;

    /// Whether the value passed, for the fast way (which reports nothing).
    fn passed(&self) -> bool;
}

impl ValidatorOutcome for bool {
    fn passed(&self) -> bool {
        *self
    }

    fn record(self, at: &FieldPath<'_>, validator: &str, errors: &mut ValidationErrors) -> bool {
        if !self {
            errors.push(at, format_args!("rejected by `{validator}`"));
        }
        self
    }
}

impl<E: std::fmt::Display> ValidatorOutcome for Result<(), E> {
    fn passed(&self) -> bool {
        self.is_ok()
    }

    fn record(self, at: &FieldPath<'_>, _validator: &str, errors: &mut ValidationErrors) -> bool {
        match self {
            Ok(()) => true,
            Err(message) => {
                errors.push(at, message);
                false
            }
        }
    }
}
