//! How handover reaches a PostgreSQL server: plain TCP to this machine
//! (`localhost`, a loopback address, a Unix socket) and TLS through rustls
//! (the `ring` provider, the platform's root certificates) to any other
//! host, so that a password or patient data never crosses a network in
//! clear. `sslmode` in the URL overrides that: `disable` never uses TLS,
//! `require` always does, `prefer` tries TLS and falls back to plain TCP.

use std::net::IpAddr;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How sessions reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    /// TLS, required or (`sslmode=prefer`) only preferred.
    Tls {
        required: bool,
    },
}

/// The transport for a URL: `sslmode` as written in it, if it is;
/// otherwise plain for a local server and required TLS for any other.
pub fn transport(config: &Config, sslmode_written: bool) -> Transport {
    if sslmode_written {
        return match config.get_ssl_mode() {
            SslMode::Disable => Transport::Plain,
            SslMode::Prefer => Transport::Tls { required: false },
            _ => Transport::Tls { required: true },
        };
    }
    if is_local(config) {
        Transport::Plain
    } else {
        Transport::Tls { required: true }
    }
}

/// Whether every host (and host address) the URL names is this machine.
fn is_local(config: &Config) -> bool {
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => is_local_name(name),
    });
    hosts_local && config.get_hostaddrs().iter().all(IpAddr::is_loopback)
}

fn is_local_name(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether the URL's query sets `sslmode` itself.
pub fn sslmode_written(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.to_ascii_lowercase().starts_with("sslmode="))
    })
}

/// What opens sessions: the pool's and the runner lock's own.
#[derive(Clone)]
pub enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

impl Connector {
    /// The connector for `transport`, with the config's `sslmode` set to
    /// match (a remote server without TLS is refused, not used in clear).
    pub fn for_transport(config: &mut Config, transport: Transport) -> Result<Connector, String> {
        match transport {
            Transport::Plain => {
                config.ssl_mode(SslMode::Disable);
                Ok(Connector::Plain)
            }
            Transport::Tls { required } => {
                let mode = if required {
                    SslMode::Require
                } else {
                    SslMode::Prefer
                };
                config.ssl_mode(mode);
                Ok(Connector::Tls(rustls_connector()?))
            }
        }
    }

    /// Opens one session and drives its connection on `runtime`.
    pub async fn connect(&self, config: &Config) -> Result<Client, tokio_postgres::Error> {
        match self {
            Connector::Plain => {
                let (client, connection) = config.connect(NoTls).await?;
                tokio::spawn(connection);
                Ok(client)
            }
            Connector::Tls(tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                tokio::spawn(connection);
                Ok(client)
            }
        }
    }
}

/// rustls with the `ring` provider and the platform's root certificates.
fn rustls_connector() -> Result<MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err("no root certificates were found on this machine".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn decide(url: &str) -> Transport {
        transport(&Config::from_str(url).unwrap(), sslmode_written(url))
    }

    const REQUIRED: Transport = Transport::Tls { required: true };

    #[test]
    fn this_machine_is_reached_in_plain_tcp() {
        for url in [
            "postgres://hr@localhost/clinic",
            "postgres://hr@LOCALHOST:5433/clinic",
            "postgres://hr@127.0.0.1/clinic",
            "postgres://hr@127.0.0.2/clinic",
            "postgres://hr@[::1]:5432/clinic",
            "postgres://hr@%2Fvar%2Frun%2Fpostgresql/clinic",
            "postgres:///clinic?host=/var/run/postgresql",
        ] {
            assert_eq!(decide(url), Transport::Plain, "{url}");
        }
    }

    #[test]
    fn any_other_host_needs_tls() {
        for url in [
            "postgres://hr@db.example/clinic",
            "postgres://hr@10.0.0.5:5432/clinic",
            "postgres://hr@[2001:db8::1]/clinic",
            "postgres://hr@localhost,db.example/clinic",
            "postgres://hr@localhost/clinic?hostaddr=10.0.0.5",
        ] {
            assert_eq!(decide(url), REQUIRED, "{url}");
        }
    }

    #[test]
    fn sslmode_in_the_url_decides() {
        let remote = "postgres://hr@db.example/clinic";
        assert_eq!(
            decide(&format!("{remote}?sslmode=disable")),
            Transport::Plain
        );
        assert_eq!(
            decide(&format!("{remote}?sslmode=prefer")),
            Transport::Tls { required: false }
        );
        let local = "postgres://hr@localhost/clinic";
        assert_eq!(decide(&format!("{local}?sslmode=require")), REQUIRED);
    }
}
