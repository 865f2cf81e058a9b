// `#[settings]` on a struct outside any `#[plugin]` module; the caret sits on the attribute.
use yoctopus_core::prelude::*;

#[settings]
#[derive(Default, Clone)]
pub struct Settings {
    pub authenticated: bool,
}

fn main() {}
