// `#[settings]` on an enum; the caret sits on `settings`.
use yoctopus_core::prelude::*;

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub enum Settings {
        #[default]
        Anonymous,
        Authenticated,
    }
}

fn main() {}
