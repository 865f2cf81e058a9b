//! Bundled plugins.
