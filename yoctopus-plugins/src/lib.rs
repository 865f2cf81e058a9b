//! Bundled Yoctopus plugins, written with the same public macros as any user's plugin.
//!
//! The plugin every server installs, `yoctopus` (connection metadata and `yoctopus:label`), lives
//! in `yoctopus-core` because the server adds it itself. The optional bundled plugins of the
//! original (`multicast`, `api`, the database change tracker) come here, one module each, a plugin
//! that pulls in a driver behind a feature; none is written yet.
