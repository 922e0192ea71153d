//! The TOML configuration: the clinic's time zone and one endpoint per
//! billing system. `--config FILE` names it; otherwise `handover.toml` in
//! the working directory is read if present. Tokens are never in the file,
//! only the name of the environment variable that holds each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use serde::Deserialize;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "handover.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub clinic: Clinic,
    /// Billing endpoints by system name (`mdbilling`).
    #[serde(default)]
    pub billing: BTreeMap<String, BillingEndpoint>,
}

/// Facts about the clinic itself.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clinic {
    /// IANA time zone for `not_before` dates; the machine's when unset.
    pub time_zone: Option<String>,
}

/// Where and how to reach one billing system.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingEndpoint {
    /// Base URL; the disconnect call goes to `{url}/providers/{number}/disconnect`.
    pub url: String,
    /// Name of the environment variable holding the bearer token.
    pub token_env: String,
    /// Seconds before one attempt times out.
    pub timeout_secs: Option<u64>,
    /// Attempts per delivery in one run.
    pub attempts: Option<u32>,
    /// Deliveries to this system at once.
    pub concurrency: Option<usize>,
}

/// A configuration problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("could not use the configuration `{file}`: {message}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub message: String,
}

impl Config {
    /// Reads the configuration named by `--config`, or the default file if
    /// present, or an empty configuration.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
            None => return Ok(Config::default()),
        };
        let fail = |message: String| ConfigError {
            file: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|err| fail(crate::plan::source::describe_io(&err)))?;
        let config: Config =
            toml::from_str(&text).map_err(|err| fail(toml_message(&text, &err)))?;
        config.time_zone().map_err(fail)?;
        Ok(config)
    }

    /// The clinic's time zone.
    pub fn time_zone(&self) -> Result<TimeZone, String> {
        match &self.clinic.time_zone {
            Some(name) => TimeZone::get(name)
                .map_err(|_| format!("`clinic.time_zone`: unknown time zone `{name}`")),
            None => Ok(TimeZone::system()),
        }
    }
}

/// A TOML error on one line: where, then what.
fn toml_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end_matches('\n').to_string();
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}
