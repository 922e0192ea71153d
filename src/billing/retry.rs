//! What an answer of the billing system means for a delivery, and how long
//! to wait before the next attempt: `Retry-After` when the system says so
//! (capped), otherwise exponential backoff with jitter.

use std::time::Duration;

use backon::ExponentialBuilder;
use jiff::Timestamp;
use jiff::fmt::rfc2822::DateTimeParser;
use reqwest::StatusCode;

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// The verdict on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx, or 409: the provider is disconnected.
    Delivered,
    /// 404: the billing system does not know the number; nothing to undo.
    Unknown,
    /// Worth another attempt: after `after` when the system said when.
    Retry {
        cause: String,
        after: Option<Duration>,
    },
    /// Refused (other 4xx): not retried in this run.
    Refused { cause: String },
}

/// Classifies an HTTP answer. `retry_after` is the raw header, if any.
pub fn classify(status: StatusCode, retry_after: Option<&str>, now: Timestamp) -> Verdict {
    let cause = status.to_string();
    match status.as_u16() {
        200..=299 | 409 => Verdict::Delivered,
        404 => Verdict::Unknown,
        429 | 503 => Verdict::Retry {
            cause,
            after: retry_after.and_then(|value| parse_retry_after(value, now)),
        },
        500..=599 => Verdict::Retry { cause, after: None },
        _ => Verdict::Refused { cause },
    }
}

/// Classifies a request that got no answer: always worth another attempt.
/// The cause is short and holds no URL, header or body.
pub fn classify_error(err: &reqwest::Error) -> Verdict {
    let cause = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "connection dropped before an answer"
    };
    Verdict::Retry {
        cause: cause.to_string(),
        after: None,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, capped; a date in the
/// past means now. `None` when unreadable (the caller backs off instead).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTimeParser::new().parse_timestamp(value).ok()?;
            Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

/// Set by tests (and only tests) to shrink the backoff base, in ms.
/// `Retry-After` is honoured whatever it says.
pub const BASE_ENV: &str = "HANDOVER_RETRY_BASE_MS";

/// The longest wait the backoff itself chooses between two attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// The waits between `attempts` attempts of one delivery: 500 ms (or the
/// base that [`BASE_ENV`] sets) doubling up to 30 s, each with random
/// jitter so that many deliveries refused at once do not return at once.
pub fn backoff(attempts: u32) -> ExponentialBuilder {
    let base = std::env::var(BASE_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_millis(500), Duration::from_millis);
    ExponentialBuilder::default()
        .with_min_delay(base)
        .with_max_delay(BACKOFF_CAP)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(attempts.saturating_sub(1) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder as _;

    fn now() -> Timestamp {
        "2026-12-01T09:00:00Z".parse().unwrap()
    }

    fn verdict(code: u16) -> Verdict {
        classify(StatusCode::from_u16(code).unwrap(), None, now())
    }

    #[test]
    fn answers_are_classified_as_design_section_5_says() {
        assert_eq!(verdict(200), Verdict::Delivered);
        assert_eq!(verdict(204), Verdict::Delivered);
        assert_eq!(verdict(409), Verdict::Delivered);
        assert_eq!(verdict(404), Verdict::Unknown);
        assert!(matches!(verdict(503), Verdict::Retry { .. }));
        assert!(matches!(verdict(429), Verdict::Retry { .. }));
        assert!(matches!(verdict(502), Verdict::Retry { after: None, .. }));
        let refused = Verdict::Refused {
            cause: "400 Bad Request".into(),
        };
        assert_eq!(verdict(400), refused);
        assert!(matches!(verdict(401), Verdict::Refused { .. }));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_is_capped() {
        let secs = |value| parse_retry_after(value, now());
        assert_eq!(secs("1"), Some(Duration::from_secs(1)));
        assert_eq!(secs(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(secs("3600"), Some(RETRY_AFTER_CAP));
        assert_eq!(
            secs("Tue, 01 Dec 2026 09:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(secs("Tue, 01 Dec 2026 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(secs("soon"), None);
    }

    #[test]
    fn a_429_carries_its_retry_after() {
        let verdict = classify(StatusCode::TOO_MANY_REQUESTS, Some("2"), now());
        let expected = Verdict::Retry {
            cause: "429 Too Many Requests".into(),
            after: Some(Duration::from_secs(2)),
        };
        assert_eq!(verdict, expected);
    }

    #[test]
    fn backoff_waits_between_attempts_only_and_grows_within_its_cap() {
        for _ in 0..50 {
            let waits: Vec<Duration> = backoff(4).build().collect();
            assert_eq!(
                waits.len(),
                3,
                "four attempts have three waits between them"
            );
            // 500 ms, 1 s, 2 s, each plus a jitter below itself.
            for (n, wait) in waits.iter().enumerate() {
                let floor = Duration::from_millis(500) * 2u32.pow(n as u32);
                assert!(*wait >= floor && *wait < floor * 2, "wait {n}: {wait:?}");
            }
        }
        assert_eq!(backoff(1).build().count(), 0, "one attempt, no wait");
        let late: Vec<Duration> = backoff(12).build().collect();
        assert!(late.iter().all(|wait| *wait <= BACKOFF_CAP * 2));
    }
}
