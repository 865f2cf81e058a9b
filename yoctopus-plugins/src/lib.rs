//! Bundled Yoctopus plugins, written with the same public macros as any user's plugin.
//!
//! - [`multicast`]: push to every connection whose settings match a filter.
//! - [`api`]: `api:api` `read`, `subscribe` and `unsubscribe`: the server's API for clients.
//!
//! The plugin every server installs, `yoctopus` (connection metadata and `yoctopus:label`), lives
//! in `yoctopus-core` because the server adds it itself.

pub mod api;
pub mod multicast;
