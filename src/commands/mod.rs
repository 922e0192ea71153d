//! One module per subcommand: each turns its arguments into library calls
//! and the outcome into results on stdout and an [`crate::Exit`].

pub mod schema;
pub mod validate;
