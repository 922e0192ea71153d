//! The operator who carries plans out: their password (from a file, the
//! environment or a hidden terminal prompt, never a plan) checked against
//! the stored argon2id hash, and the permission to edit other users.
//! Failures never say whether the name or the password was wrong.

use std::io::IsTerminal;
use std::path::Path;

use crate::password::verify_password;
use crate::store::{Store, StoreError, User};

/// The permission an operator needs (DESIGN: Edit Other Users).
pub const PERMISSION: &str = "edit_other_users";

/// The environment variable that may hold the operator's password.
pub const PASSWORD_VAR: &str = "HANDOVER_PASSWORD";

/// A hash checked when the operator does not exist, so that an unknown name
/// takes as long as a wrong password.
fn decoy_hash() -> String {
    crate::password::hash_password(&crate::password::generate_password()).unwrap_or_default()
}

/// Why an operator may not proceed.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// Unknown operator or wrong password: deliberately one case.
    #[error("operator name or password is wrong")]
    Credentials,
    /// The password was right, but the operator may not edit other users.
    #[error("operator `{0}` may not deactivate or reactivate users: {1}")]
    NotAllowed(String, &'static str),
    /// No password could be read.
    #[error("no password given for operator `{0}`")]
    NoPassword(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the operator's password: `--password-file`, then
/// `HANDOVER_PASSWORD`, then a hidden prompt on a terminal.
pub fn read_password(name: &str, file: Option<&Path>) -> Result<String, Denied> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|_| Denied::NoPassword(name.into()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    if let Ok(password) = std::env::var(PASSWORD_VAR) {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Denied::NoPassword(name.into()));
    }
    rpassword::prompt_password(format!("password for operator `{name}`: "))
        .map_err(|_| Denied::NoPassword(name.into()))
}

/// Checks the operator's password and permission; returns the operator.
pub fn authenticate(store: &dyn Store, name: &str, password: &str) -> Result<User, Denied> {
    let user = store.find_user(name)?;
    let hash = user.as_ref().and_then(|user| user.password_hash.clone());
    let checked = hash.clone().unwrap_or_else(decoy_hash);
    let matches = verify_password(password, &checked);
    let user = match (user, matches && hash.is_some()) {
        (Some(user), true) => user,
        _ => return Err(Denied::Credentials),
    };
    if !user.active {
        return Err(Denied::NotAllowed(
            user.username,
            "the account is deactivated",
        ));
    }
    if !store.has_permission(user.id, PERMISSION)? {
        return Err(Denied::NotAllowed(
            user.username,
            "it lacks `edit_other_users`",
        ));
    }
    Ok(user)
}
