// `#[binary]` on a struct; the caret sits on `binary`.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    #[binary]
    struct Upload;
}

fn main() {}
