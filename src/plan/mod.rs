//! Plan files: their format, loading with full diagnostics, resolution into
//! the one [`Plan`] type that review and apply use, and fingerprints.

pub mod findings;
pub mod fingerprint;
pub mod load;
pub mod meaning;
pub mod model;
pub mod resolve;
pub mod resolved;
pub mod schema;
pub mod source;
pub mod yaml;

pub use load::{Loaded, load};
pub use resolved::{CATEGORIES, Category, Handling, Located, Location, Plan};
