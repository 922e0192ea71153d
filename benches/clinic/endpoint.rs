//! Local billing endpoints (wiremock on loopback) and the configuration
//! files that point `handover` at them: one answering at once, one
//! answering after a set latency, and one refusing every disconnect.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The environment variable the configurations name for the token.
pub const TOKEN_VAR: &str = "BENCH_BILLING_TOKEN";

/// The set latency of the slow endpoint.
pub const LATENCY: Duration = Duration::from_millis(100);

/// handover's default bound on deliveries at once to one system.
pub const CONCURRENCY: usize = 8;

/// The servers (kept alive while the benchmark runs) and their configs.
pub struct Endpoints {
    _servers: Vec<MockServer>,
    /// Answers 200 at once.
    pub instant: PathBuf,
    /// Answers 200 after [`LATENCY`].
    pub slow: PathBuf,
    /// Answers 400: not retried, so the plans stay `in-progress`.
    pub refusing: PathBuf,
}

impl Endpoints {
    pub async fn start(dir: &Path) -> anyhow::Result<Endpoints> {
        let answers = [
            ResponseTemplate::new(200),
            ResponseTemplate::new(200).set_delay(LATENCY),
            ResponseTemplate::new(400),
        ];
        let mut servers = Vec::new();
        let mut configs = Vec::new();
        for (name, answer) in ["instant", "slow", "refusing"].into_iter().zip(answers) {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(answer)
                .mount(&server)
                .await;
            let config = dir.join(format!("{name}.toml"));
            std::fs::write(
                &config,
                format!(
                    "[billing.mdbilling]\nurl = \"{}/api\"\ntoken_env = \"{TOKEN_VAR}\"\n",
                    server.uri()
                ),
            )?;
            servers.push(server);
            configs.push(config);
        }
        let [instant, slow, refusing] = <[PathBuf; 3]>::try_from(configs)
            .map_err(|_| anyhow::anyhow!("three endpoints expected"))?;
        Ok(Endpoints {
            _servers: servers,
            instant,
            slow,
            refusing,
        })
    }
}
