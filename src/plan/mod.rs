//! Plan files: their format, loading with full diagnostics, resolution into
//! the one [`Plan`] type that review and apply use, and fingerprints.

pub mod model;
pub mod schema;
pub mod yaml;
