// A binary handler asks for `Meta`, which only requests have; the caret sits on the type.
use yoctopus_core::prelude::*;

#[plugin]
mod uploads {
    use yoctopus_core::prelude::*;

    #[binary]
    async fn upload(_meta: Meta) {}
}

fn main() {}
