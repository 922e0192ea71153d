//! Delivery speed: 200 queued billing disconnects to a loopback endpoint
//! that answers each in 100 ms, delivered through the library's step 7 at a
//! few concurrency bounds. Prints the elapsed time beside the sequential sum
//! and the ideal for the bound. Run with `cargo bench --bench billing`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use handover::config::{BillingEndpoint, Config};
use handover::store::{self, Access, NewBillingLink, NewOutboxEntry, NewUser, Role, Store};
use jiff::Timestamp;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const LEAVERS: usize = 200;
const ANSWER: Duration = Duration::from_millis(100);
const TOKEN_VAR: &str = "BENCH_BILLING_TOKEN";

fn main() -> anyhow::Result<()> {
    // The token comes from the environment, as in production: without it,
    // run this benchmark again with it set.
    if std::env::var(TOKEN_VAR).is_err() {
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .env(TOKEN_VAR, "bench-token")
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = runtime.block_on(slow_server());
    println!("billing delivery: {LEAVERS} disconnects, endpoint answering in {ANSWER:?}");
    for concurrency in [8, 32] {
        bench(&server.uri(), concurrency)?;
    }
    Ok(())
}

async fn slow_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(ANSWER))
        .mount(&server)
        .await;
    server
}

fn bench(uri: &str, concurrency: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let now: Timestamp = "2026-12-01T09:00:00Z".parse()?;
    let mut store = store::open(
        dir.path().join("bench.db").to_str().unwrap(),
        Access::Create,
    )?;
    store.init_clinic()?;
    store.migrate(now)?;
    let leavers = queue(&mut *store, now)?;
    let config = config(uri, concurrency);

    let started = Instant::now();
    let deliveries = handover::billing::deliver_pending(&mut *store, &config, &leavers, now);
    let elapsed = started.elapsed();

    let delivered = deliveries
        .iter()
        .filter(|d| d.outcome == "delivered")
        .count();
    anyhow::ensure!(
        delivered == LEAVERS,
        "only {delivered} of {LEAVERS} delivered"
    );
    let sequential = ANSWER * LEAVERS as u32;
    let ideal = sequential / concurrency as u32;
    println!(
        "  concurrency {concurrency:>2}: elapsed {:>6.2} s · sequential sum {:>5.1} s · \
         ideal {:>5.2} s · {:.0}% of ideal",
        elapsed.as_secs_f64(),
        sequential.as_secs_f64(),
        ideal.as_secs_f64(),
        100.0 * ideal.as_secs_f64() / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Seeds the leavers with a connected link each and queues their
/// disconnects, as step 6 would.
fn queue(store: &mut dyn Store, now: Timestamp) -> anyhow::Result<Vec<i64>> {
    let mut leavers = Vec::new();
    store.seed(&mut |sink| {
        for n in 0..LEAVERS {
            let username = format!("leaver{n:03}");
            let user = sink.user(&NewUser {
                username: &username,
                full_name: &username,
                role: Role::Practitioner,
                province: Some("ON"),
                password_hash: None,
                deactivated: None,
            })?;
            let number = format!("BN{user:05}");
            sink.billing_link(&NewBillingLink {
                user_id: user,
                system: "mdbilling",
                billing_number: &number,
                connected: true,
            })?;
            leavers.push(user);
        }
        Ok(())
    })?;
    store.write(&mut |writer| {
        for &user in &leavers {
            writer.enqueue_outbox(&NewOutboxEntry {
                user_id: user,
                system: "mdbilling".into(),
                billing_number: format!("BN{user:05}"),
                idempotency_key: uuid::Uuid::now_v7().to_string(),
                reason: "benchmark".into(),
                effective_at: now,
            })?;
        }
        Ok(())
    })?;
    Ok(leavers)
}

fn config(uri: &str, concurrency: usize) -> Config {
    let endpoint = BillingEndpoint {
        url: format!("{uri}/api"),
        token_env: TOKEN_VAR.into(),
        timeout_secs: None,
        attempts: None,
        concurrency: Some(concurrency),
    };
    Config {
        billing: BTreeMap::from([("mdbilling".to_string(), endpoint)]),
        ..Config::default()
    }
}
