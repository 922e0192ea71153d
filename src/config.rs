//! The TOML configuration: the clinic's time zone and one endpoint per
//! billing system. `--config FILE` names it; otherwise `handover.toml` in
//! the working directory is read if present. Tokens are never in the file,
//! only the name of the environment variable that holds each.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use reqwest::Url;
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

/// Defaults and bounds of a billing endpoint's settings.
const TIMEOUT_SECS: (u64, u64, u64) = (10, 1, 300);
const ATTEMPTS: (u32, u32, u32) = (5, 1, 20);
const CONCURRENCY: (usize, usize, usize) = (8, 1, 64);

impl BillingEndpoint {
    /// How long one attempt may take.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(TIMEOUT_SECS.0))
    }

    /// Attempts per delivery in one run.
    pub fn attempts(&self) -> u32 {
        self.attempts.unwrap_or(ATTEMPTS.0)
    }

    /// Deliveries to this system at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(CONCURRENCY.0)
    }

    /// The base URL, checked by [`Config::load`].
    pub fn base_url(&self) -> Result<Url, String> {
        Url::parse(&self.url).map_err(|err| format!("not a URL: {err}"))
    }

    /// The bearer token from the environment variable `token_env`.
    pub fn token(&self) -> Result<String, String> {
        match std::env::var(&self.token_env) {
            Ok(token) if !token.trim().is_empty() => Ok(token),
            Ok(_) => Err(format!(
                "the environment variable `{}` is empty",
                self.token_env
            )),
            Err(_) => Err(format!(
                "the environment variable `{}` is not set",
                self.token_env
            )),
        }
    }

    /// Every setting within its bounds; the first problem names its key.
    fn check(&self, system: &str) -> Result<(), String> {
        let key = |name: &str, message: String| format!("`billing.{system}.{name}`: {message}");
        check_url(&self.url).map_err(|message| key("url", message))?;
        check_env_name(&self.token_env).map_err(|message| key("token_env", message))?;
        within(self.timeout_secs, TIMEOUT_SECS).map_err(|message| key("timeout_secs", message))?;
        within(self.attempts, ATTEMPTS).map_err(|message| key("attempts", message))?;
        within(self.concurrency, CONCURRENCY).map_err(|message| key("concurrency", message))?;
        Ok(())
    }
}

/// An `https://` URL, or `http://` to a loopback host only, so that a
/// token never crosses a network unencrypted. No credentials in it.
fn check_url(text: &str) -> Result<(), String> {
    let url = Url::parse(text).map_err(|err| format!("not a URL: {err}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials; name the token with `token_env`".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err("plain `http://` is only allowed to a loopback host; use `https://`".into()),
        other => Err(format!("unsupported scheme `{other}`; use `https://`")),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A portable environment variable name: letters, digits, `_`, not
/// starting with a digit.
fn check_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    Err(format!("`{name}` is not an environment variable name"))
}

/// A setting, when given, between its bounds (inclusive).
fn within<T: PartialOrd + std::fmt::Display + Copy>(
    value: Option<T>,
    (_, low, high): (T, T, T),
) -> Result<(), String> {
    match value {
        Some(value) if value < low || value > high => {
            Err(format!("{value} is out of range {low}..={high}"))
        }
        _ => Ok(()),
    }
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
        for (system, endpoint) in &config.billing {
            endpoint.check(system).map_err(fail)?;
        }
        Ok(config)
    }

    /// Checks that the token of every billing endpoint is in the
    /// environment (for `apply`; a review needs no token). Names the key and
    /// the variable, never the value.
    pub fn check_tokens(&self) -> Result<(), String> {
        for (system, endpoint) in &self.billing {
            endpoint
                .token()
                .map_err(|message| format!("`billing.{system}.token_env`: {message}"))?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::Config;

    fn load(billing: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        std::fs::write(&path, format!("[billing.mdbilling]\n{billing}")).unwrap();
        Config::load(Some(&path)).map_err(|err| err.to_string())
    }

    const TOKEN: &str = "token_env = \"MDBILLING_TOKEN\"\n";

    #[test]
    fn https_and_loopback_http_are_accepted_with_defaults() {
        for url in [
            "https://billing.example.org/api",
            "http://127.0.0.1:8080/api",
            "http://127.4.5.6/api",
            "http://[::1]:9/api",
            "http://localhost:9",
        ] {
            let config = load(&format!("url = \"{url}\"\n{TOKEN}")).unwrap();
            let endpoint = &config.billing["mdbilling"];
            assert_eq!(endpoint.timeout().as_secs(), 10);
            assert_eq!((endpoint.attempts(), endpoint.concurrency()), (5, 8));
        }
    }

    #[test]
    fn each_bad_setting_is_named_by_its_key() {
        let cases = [
            (
                "url = \"http://billing.example.org\"\n",
                "billing.mdbilling.url",
            ),
            ("url = \"ftp://127.0.0.1\"\n", "billing.mdbilling.url"),
            ("url = \"not a url\"\n", "billing.mdbilling.url"),
            (
                "url = \"https://u:p@example.org\"\n",
                "billing.mdbilling.url",
            ),
            (
                "url = \"https://x.org\"\ntimeout_secs = 0\n",
                "billing.mdbilling.timeout_secs",
            ),
            (
                "url = \"https://x.org\"\nattempts = 21\n",
                "billing.mdbilling.attempts",
            ),
            (
                "url = \"https://x.org\"\nconcurrency = 0\n",
                "billing.mdbilling.concurrency",
            ),
        ];
        for (settings, key) in cases {
            let err = load(&format!("{settings}{TOKEN}")).unwrap_err();
            assert!(err.contains(&format!("`{key}`")), "{settings}: {err}");
            assert!(!err.contains("u:p@"), "{err}");
        }
        let err = load("url = \"https://x.org\"\ntoken_env = \"1-BAD\"\n").unwrap_err();
        assert!(err.contains("`billing.mdbilling.token_env`"), "{err}");
    }
}
