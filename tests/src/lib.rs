//! Shared nothing; the integration tests live in tests/.
