//! Bundled Yoctopus plugins, written with the same public macros as any user's plugin.
//!
//! - [`multicast`]: push to every connection whose settings match a filter.
//! - [`api`]: `api:api` `read`, `subscribe` and `unsubscribe`: the server's API for clients.
//! - `change_tracker` (feature `change-tracker`): database changes pushed to subscribed clients,
//!   on SQLite or PostgreSQL, with nothing missed.
//!
//! The plugin every server installs, `yoctopus` (connection metadata and `yoctopus:label`), lives
//! in `yoctopus-core` because the server adds it itself.

pub mod api;
#[cfg(feature = "change-tracker")]
pub mod change_tracker;
pub mod multicast;
