//! The current time. Tests and demos may fix it with `HANDOVER_NOW`
//! (an RFC 3339 timestamp), so that "future" and "due" are reproducible.

use jiff::Timestamp;

/// The environment variable that fixes the clock.
pub const NOW_VAR: &str = "HANDOVER_NOW";

/// Now, or the instant `HANDOVER_NOW` names.
pub fn now() -> anyhow::Result<Timestamp> {
    match std::env::var(NOW_VAR) {
        Ok(text) => text
            .parse()
            .map_err(|err| anyhow::anyhow!("could not read `{NOW_VAR}`: {err}")),
        Err(_) => Ok(Timestamp::now()),
    }
}

/// The UTC text form used in SQLite columns: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn to_db_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
