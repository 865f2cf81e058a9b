// A binary handler that is not `async`; the caret sits on `fn`.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    #[binary]
    fn upload() {}
}

fn main() {}
