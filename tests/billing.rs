//! Step 7 against real HTTP servers on loopback: wiremock for answers in a
//! set order, and a raw TCP server for connections that drop or hang. Each
//! case runs the real binary on a small clinic and checks the calls the
//! server saw, the exit code, the billing link and the outbox row.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::clinic::Clinic;
use common::{Backend, Run, on_both_backends, run};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "tok-3f9a1c7e-secret";
const PASSWORD: &str = "correct horse battery";
const PLAN: &str = "version: 1\nuser: leaver\nreason: Moved to another clinic\n";

/// A clinic where `leaver` holds only a connected `mdbilling` link and
/// `admin` may deactivate people.
struct Scenario {
    clinic: Clinic,
    leaver: i64,
}

impl Scenario {
    fn new(backend: Backend) -> Scenario {
        let clinic = Clinic::new(backend);
        let leaver = clinic.user("leaver", "practitioner");
        clinic.billing_link(leaver, "mdbilling");
        let admin = clinic.user("admin", "staff");
        clinic.grant(admin, "edit_other_users");
        clinic.db.execute(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            &[password_hash().into(), admin.into()],
        );
        clinic.plan("plan.yaml", PLAN);
        Scenario { clinic, leaver }
    }

    /// Points `mdbilling` at `url`, with extra settings such as `attempts = 3`.
    fn configure(&self, url: &str, settings: &str) {
        let text = format!(
            "[clinic]\ntime_zone = \"UTC\"\n\n[billing.mdbilling]\nurl = \"{url}\"\n\
             token_env = \"MDBILLING_TOKEN\"\n{settings}"
        );
        std::fs::write(self.clinic.path().join("handover.toml"), text).unwrap();
    }

    fn number(&self) -> String {
        format!("BN{:05}", self.leaver)
    }

    /// `handover apply plan.yaml --operator admin --yes`, backoff shrunk to 0.
    fn apply(&self, args: &[&str]) -> Run {
        run(self.apply_command().args(args))
    }

    fn apply_command(&self) -> assert_cmd::Command {
        let mut command = self.clinic.handover();
        command
            .args(["apply", "plan.yaml", "--operator", "admin", "--yes"])
            .env("HANDOVER_PASSWORD", PASSWORD)
            .env("MDBILLING_TOKEN", TOKEN)
            .env("HANDOVER_RETRY_BASE_MS", "0");
        command
    }

    fn connected(&self) -> i64 {
        self.clinic
            .db
            .int("SELECT connected FROM billing_links", &[])
    }

    fn active(&self) -> i64 {
        self.clinic.db.int(
            "SELECT active FROM users WHERE id = ?1",
            &[self.leaver.into()],
        )
    }

    /// The outbox row: status, attempts, last error.
    fn outbox(&self) -> (String, i64, Option<String>) {
        let row = self.clinic.db.row(
            "SELECT status, attempts, last_error FROM handover_outbox",
            &[],
        );
        (row[0].text().unwrap(), row[1].int(), row[2].text())
    }

    fn run_status(&self) -> String {
        self.clinic
            .db
            .text("SELECT status FROM handover_runs", &[])
            .unwrap()
    }

    fn key(&self) -> String {
        self.clinic
            .db
            .text("SELECT idempotency_key FROM handover_outbox", &[])
            .unwrap()
    }
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| handover::password::hash_password(PASSWORD).unwrap())
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A call the server saw.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    path: String,
    key: String,
    authorization: String,
    body: serde_json::Value,
}

/// Answers the n-th call with the n-th template (the last one repeats),
/// recording every call.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Respond for Sequence {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let mut seen = self.seen.lock().unwrap();
        seen.push(Seen {
            at: Instant::now(),
            path: request.url.path().to_string(),
            key: header("idempotency-key"),
            authorization: header("authorization"),
            body: serde_json::from_slice(&request.body).unwrap_or_default(),
        });
        let index = (seen.len() - 1).min(self.answers.len() - 1);
        self.answers[index].clone()
    }
}

/// A wiremock server whose disconnect route answers `answers` in order.
fn serve(answers: Vec<ResponseTemplate>) -> (MockServer, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let responder = Sequence {
        answers,
        seen: seen.clone(),
    };
    let server = runtime().block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/providers/BN00001/disconnect"))
            .respond_with(responder)
            .mount(&server)
            .await;
        server
    });
    (server, seen)
}

fn calls(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    seen.lock().unwrap().clone()
}

fn status(code: u16) -> ResponseTemplate {
    ResponseTemplate::new(code)
}

on_both_backends!(two_503s_then_200_is_one_delivery_of_three_calls_with_one_key);
fn two_503s_then_200_is_one_delivery_of_three_calls_with_one_key(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(503), status(503), status(200)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let calls = calls(&seen);
    assert_eq!(calls.len(), 3);
    let key = scenario.key();
    for call in &calls {
        assert_eq!(call.key, key);
        assert_eq!(
            call.path,
            format!("/api/providers/{}/disconnect", scenario.number())
        );
        assert_eq!(call.authorization, format!("Bearer {TOKEN}"));
        assert_eq!(call.body["billing_number"], scenario.number().as_str());
        assert_eq!(call.body["reason"], "Moved to another clinic");
        assert_eq!(call.body["effective_at"], common::NOW);
    }
    assert_eq!(scenario.connected(), 0);
    assert_eq!(scenario.outbox().0, "delivered");
    assert_eq!(scenario.outbox().1, 3);
    assert_eq!(scenario.run_status(), "done");
}

on_both_backends!(a_429_is_retried_no_sooner_than_its_retry_after);
fn a_429_is_retried_no_sooner_than_its_retry_after(backend: Backend) {
    let scenario = Scenario::new(backend);
    let busy = status(429).insert_header("Retry-After", "1");
    let (server, seen) = serve(vec![busy, status(200)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let calls = calls(&seen);
    assert_eq!(calls.len(), 2);
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(scenario.connected(), 0);
}

on_both_backends!(a_response_slower_than_the_timeout_is_retried);
fn a_response_slower_than_the_timeout_is_retried(backend: Backend) {
    let scenario = Scenario::new(backend);
    let slow = status(200).set_delay(Duration::from_secs(3));
    let (server, seen) = serve(vec![slow, status(200)]);
    scenario.configure(&format!("{}/api", server.uri()), "timeout_secs = 1\n");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let calls = calls(&seen);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].key, calls[1].key);
    assert_eq!(
        scenario.outbox(),
        ("delivered".into(), 2, Some("timed out".into()))
    );
}

on_both_backends!(a_409_is_delivered);
fn a_409_is_delivered(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(409)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(calls(&seen).len(), 1);
    assert_eq!(scenario.connected(), 0);
    assert_eq!(scenario.outbox().0, "delivered");
}

on_both_backends!(a_404_is_delivered_with_a_warning);
fn a_404_is_delivered_with_a_warning(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(404)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(calls(&seen).len(), 1);
    assert!(
        result.stderr.contains("does not know billing number"),
        "{}",
        result.stderr
    );
    assert_eq!(scenario.connected(), 0);
    assert_eq!(scenario.outbox().0, "delivered");
}

on_both_backends!(a_400_fails_after_one_call_and_leaves_the_plan_in_progress);
fn a_400_fails_after_one_call_and_leaves_the_plan_in_progress(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(400)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 4, "{}", result.stderr);
    assert_eq!(calls(&seen).len(), 1);
    assert!(result.stdout.contains("in-progress"), "{}", result.stdout);
    assert!(
        result.stdout.contains("400 Bad Request"),
        "{}",
        result.stdout
    );
    assert_eq!(scenario.connected(), 1);
    assert_eq!(scenario.active(), 0);
    let expected = (
        "pending".to_string(),
        1,
        Some("400 Bad Request".to_string()),
    );
    assert_eq!(scenario.outbox(), expected);
    assert_eq!(scenario.run_status(), "running");
}

/// A loopback address where nothing listens.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/api")
}

on_both_backends!(an_endpoint_down_all_run_exits_4_and_the_next_apply_finishes);
fn an_endpoint_down_all_run_exits_4_and_the_next_apply_finishes(backend: Backend) {
    let scenario = Scenario::new(backend);
    scenario.configure(&closed_port(), "attempts = 3\n");
    let first = scenario.apply(&[]);
    assert_eq!(first.code, 4, "{}", first.stderr);
    assert!(first.stdout.contains("in-progress"), "{}", first.stdout);
    assert_eq!(scenario.active(), 0, "the leaver is deactivated already");
    assert_eq!(scenario.connected(), 1);
    let expected = (
        "pending".to_string(),
        3,
        Some("could not connect".to_string()),
    );
    assert_eq!(scenario.outbox(), expected);
    assert_eq!(scenario.run_status(), "running");

    let (server, seen) = serve(vec![status(200)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let second = scenario.apply(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(calls(&seen).len(), 1);
    assert_eq!(calls(&seen)[0].key, scenario.key());
    assert_eq!(scenario.connected(), 0);
    assert_eq!(scenario.run_status(), "done");

    let third = scenario.apply(&[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(calls(&seen).len(), 1, "a finished plan sends nothing");
}

/// What the raw server does with the n-th connection.
#[derive(Clone, Copy)]
enum Act {
    /// Reads the request, then closes without a word.
    Drop,
    /// Reads the request and never answers.
    Hang,
    /// Answers `200 OK`.
    Answer,
}

/// A raw TCP server on loopback that records each request's idempotency
/// key and treats the n-th connection as `plan(n)` says.
fn raw_server(plan: fn(usize) -> Act) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || handle(stream, plan(n), &seen));
        }
    });
    (url, keys)
}

fn handle(mut stream: TcpStream, act: Act, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut key, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        match name.to_ascii_lowercase().as_str() {
            "idempotency-key" => key = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    seen.lock().unwrap().push(key);
    match act {
        Act::Drop => drop(stream),
        Act::Hang => std::thread::sleep(Duration::from_secs(120)),
        Act::Answer => {
            let answer = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            let _ = stream.write_all(answer.as_bytes());
        }
    }
}

on_both_backends!(a_dropped_connection_is_retried);
fn a_dropped_connection_is_retried(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (url, keys) = raw_server(|n| if n == 0 { Act::Drop } else { Act::Answer });
    scenario.configure(&url, "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let keys = keys.lock().unwrap().clone();
    assert_eq!(keys, [scenario.key(), scenario.key()]);
    let expected = (
        "delivered".to_string(),
        2,
        Some("connection dropped before an answer".to_string()),
    );
    assert_eq!(scenario.outbox(), expected);
}

on_both_backends!(a_run_killed_after_sending_resends_the_same_key_for_one_effect);
fn a_run_killed_after_sending_resends_the_same_key_for_one_effect(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (url, keys) = raw_server(|n| if n == 0 { Act::Hang } else { Act::Answer });
    scenario.configure(&url, "timeout_secs = 60\n");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("handover"))
        .current_dir(scenario.clinic.path())
        .args(["apply", "plan.yaml", "--operator", "admin", "--yes"])
        .env("HANDOVER_DB", scenario.clinic.url())
        .env_remove("RUST_LOG")
        .env("HANDOVER_NOW", common::NOW)
        .env("HANDOVER_PASSWORD", PASSWORD)
        .env("MDBILLING_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while keys.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no request came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        scenario.outbox().0,
        "pending",
        "the kill came before recording"
    );

    let rerun = scenario.apply(&[]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    let keys = keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the rerun sends the same key");
    let effects: std::collections::BTreeSet<_> = keys.iter().collect();
    assert_eq!(effects.len(), 1, "the billing system sees one effect");
    assert_eq!(scenario.connected(), 0);
    assert_eq!(scenario.run_status(), "done");
}

on_both_backends!(the_token_is_in_no_output_at_the_most_verbose_level);
fn the_token_is_in_no_output_at_the_most_verbose_level(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(503), status(400)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = run(scenario
        .apply_command()
        .arg("-vvv")
        .env("RUST_LOG", "trace"));
    assert_eq!(result.code, 4, "{}", result.stderr);
    assert_eq!(calls(&seen).len(), 2);
    assert!(
        result.stderr.contains("will be retried"),
        "{}",
        result.stderr
    );
    assert!(!result.stdout.contains(TOKEN), "{}", result.stdout);
    assert!(!result.stderr.contains(TOKEN), "{}", result.stderr);
    let (_, _, last_error) = scenario.outbox();
    assert!(!last_error.unwrap().contains(TOKEN));
}

on_both_backends!(a_missing_token_exits_2_naming_the_variable_and_changes_nothing);
fn a_missing_token_exits_2_naming_the_variable_and_changes_nothing(backend: Backend) {
    let scenario = Scenario::new(backend);
    let (server, seen) = serve(vec![status(200)]);
    scenario.configure(&format!("{}/api", server.uri()), "");
    let result = run(scenario.apply_command().env_remove("MDBILLING_TOKEN"));
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains("`MDBILLING_TOKEN`"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("billing.mdbilling.token_env"),
        "{}",
        result.stderr
    );
    assert_eq!(calls(&seen).len(), 0);
    assert_eq!(scenario.active(), 1);
}

on_both_backends!(plain_http_to_another_host_exits_2_naming_the_key);
fn plain_http_to_another_host_exits_2_naming_the_key(backend: Backend) {
    let scenario = Scenario::new(backend);
    scenario.configure("http://billing.example.org/api", "");
    let result = scenario.apply(&[]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains("billing.mdbilling.url"),
        "{}",
        result.stderr
    );
    assert_eq!(scenario.active(), 1);
}
