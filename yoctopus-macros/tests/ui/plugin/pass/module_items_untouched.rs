// A plugin module keeps everything else it holds: attributes, visibility, items of every kind; an
// empty plugin is a plugin too.
use yoctopus_core::prelude::*;

#[plugin]
mod empty {}

/// A documented plugin.
#[plugin]
#[allow(dead_code)]
pub mod chat {
    pub const LIMIT: usize = 10;
    pub static GREETING: &str = "hello";

    pub type Text = String;

    pub trait Shout {
        fn shout(&self) -> Text;
    }

    impl Shout for str {
        fn shout(&self) -> Text {
            self.to_uppercase()
        }
    }

    pub mod nested {
        pub fn twice(n: usize) -> usize {
            n * 2
        }
    }

    pub enum Mood {
        Happy,
    }

    #[endpoint(method = "read")]
    async fn message() -> Text {
        GREETING.shout()
    }
}

fn main() {
    use chat::Shout;
    assert_eq!(empty::plugin().name(), "empty");
    assert_eq!(chat::plugin().name(), "chat");
    assert_eq!(chat::nested::twice(chat::LIMIT), 20);
    assert_eq!("hi".shout(), "HI");
}
