//! The synthetic rows themselves. Each row is a pure function of the seed,
//! the anchor day and its own index, so that a qnaire can look up the
//! appointment it belongs to by recomputing it instead of keeping every
//! appointment in memory.

use std::fmt::Write;

use fastrand::Rng;
use jiff::Timestamp;

/// Independent random streams, one per kind of row.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Users = 1,
    Appointments = 2,
    Qnaires = 3,
    Messages = 4,
    Claims = 5,
    Slots = 6,
}

/// The random generator of one row.
pub fn rng(seed: u64, stream: Stream, index: u64) -> Rng {
    let key = mix(mix(seed) ^ (stream as u64).rotate_left(56) ^ index);
    Rng::with_seed(key)
}

/// SplitMix64's finaliser: neighbouring inputs give unrelated outputs.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

const DAY: i64 = 86_400;
const OPENING: i64 = 8 * 3_600;
const SLOT: i64 = 15 * 60;
const SLOTS_PER_DAY: i64 = 36;
const DURATIONS_MIN: &[i64] = &[15, 20, 30, 45, 60];
const PATIENTS: i64 = 60_000;

/// Where an appointment falls, before it is given a practitioner.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: &'static str,
}

/// The time and status of an appointment: about 40% future booked, 5%
/// future cancelled, the rest past (mostly completed, some cancelled); only
/// future booked ones when `booked`.
pub fn slot(rng: &mut Rng, anchor: i64, booked: bool) -> Slot {
    let bucket = rng.u32(0..if booked { 40 } else { 100 });
    let day = if bucket < 45 {
        rng.i64(1..=120)
    } else {
        -rng.i64(1..=365)
    };
    let starts_at = anchor + day * DAY + OPENING + rng.i64(0..SLOTS_PER_DAY) * SLOT;
    let minutes = DURATIONS_MIN[rng.usize(0..DURATIONS_MIN.len())];
    let status = match bucket {
        0..40 => "booked",
        40..45 => "cancelled",
        45..85 => "completed",
        _ => "cancelled",
    };
    Slot {
        starts_at,
        ends_at: starts_at + minutes * 60,
        status,
    }
}

/// A synthetic patient number.
pub fn patient(rng: &mut Rng) -> i64 {
    rng.i64(1..=PATIENTS)
}

/// A timestamp `seconds` after the Unix epoch.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("seeded times lie within jiff's range")
}

const SUBJECTS: &[&str] = &[
    "Lab result for patient",
    "Referral letter for patient",
    "Imaging report for patient",
    "Prescription renewal for patient",
    "Discharge summary for patient",
    "Question from patient",
];

/// Writes a synthetic message subject into `buffer`, reusing its memory.
pub fn subject(rng: &mut Rng, buffer: &mut String) {
    buffer.clear();
    let text = SUBJECTS[rng.usize(0..SUBJECTS.len())];
    let _ = write!(buffer, "{text} {}", patient(rng));
}

/// The status of a qnaire of an appointment with this status.
pub fn appointment_qnaire_status(rng: &mut Rng, appointment: &str) -> &'static str {
    match appointment {
        "booked" if rng.u32(0..10) < 6 => "scheduled",
        "booked" => "sent",
        "completed" => "completed",
        _ => "removed",
    }
}

/// The status of a recurring qnaire: mostly still scheduled.
pub fn recurring_status(rng: &mut Rng) -> &'static str {
    match rng.u32(0..20) {
        0..15 => "scheduled",
        15..18 => "completed",
        _ => "removed",
    }
}

/// The status of a sent qnaire: mostly awaiting the patient.
pub fn sent_status(rng: &mut Rng) -> &'static str {
    if rng.u32(0..20) < 13 {
        "sent"
    } else {
        "completed"
    }
}

/// The status of a billing claim: half paid, the rest in every other state.
pub fn claim_status(rng: &mut Rng) -> &'static str {
    match rng.u32(0..10) {
        0..5 => "paid",
        5..7 => "submitted",
        7 => "draft",
        8 => "ready",
        _ => "rejected",
    }
}

/// A pending status (`draft`, `ready`, `rejected`), in turn.
pub fn pending_status(index: u64) -> &'static str {
    ["draft", "ready", "rejected"][(index % 3) as usize]
}

/// The `YYYY-MM-DD` of a moment.
pub fn date_text(seconds: i64) -> String {
    at(seconds).strftime("%Y-%m-%d").to_string()
}

/// Seconds in `days` days.
pub fn days(days: i64) -> i64 {
    days * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_gives_the_same_row() {
        let first = slot(&mut rng(7, Stream::Appointments, 42), 0, false);
        let again = slot(&mut rng(7, Stream::Appointments, 42), 0, false);
        assert_eq!(first.starts_at, again.starts_at);
        assert_eq!(first.status, again.status);
    }

    #[test]
    fn streams_and_seeds_are_independent() {
        let a = rng(7, Stream::Appointments, 1).u64(..);
        assert_ne!(a, rng(7, Stream::Messages, 1).u64(..));
        assert_ne!(a, rng(8, Stream::Appointments, 1).u64(..));
        assert_ne!(a, rng(7, Stream::Appointments, 2).u64(..));
    }

    #[test]
    fn future_slots_are_never_completed_and_last_15_to_60_minutes() {
        for index in 0..2_000 {
            let slot = slot(&mut rng(1, Stream::Appointments, index), 0, false);
            assert!((900..=3_600).contains(&(slot.ends_at - slot.starts_at)));
            if slot.starts_at > 0 {
                assert_ne!(slot.status, "completed");
            }
        }
    }
}
