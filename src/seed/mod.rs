//! `db seed`'s synthetic clinic: the named cast, then generated users,
//! appointments, qnaires, messages and claims, shaped like a real clinic so
//! that a review finds every kind of item. Deterministic: the same sizes,
//! seed and anchor day (the UTC day of `HANDOVER_NOW`, or of today) give the
//! same rows, whatever the machine. Patient numbers and message subjects are
//! synthetic, and are never logged all the same.

pub mod cast;
mod rows;

use std::collections::HashMap;

use jiff::Timestamp;

use crate::store::{
    NewAppointment, NewBillingLink, NewClaim, NewMessage, NewQnaire, NewUser, Role, SeedSink,
    Store, StoreError,
};
use cast::{CAST, FORMER, LABS, MDBILLING, ONTARIO};
use rows::{Stream, at, days, rng};

/// How big a clinic to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSize {
    /// Generated practitioners beyond the cast.
    pub practitioners: u64,
    /// Generated staff beyond the cast.
    pub staff: u64,
    pub appointments: u64,
    pub messages: u64,
    pub qnaires: u64,
    pub claims: u64,
    /// The random seed: the same seed gives the same clinic.
    pub seed: u64,
}

/// What was seeded, counted per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub users: u64,
    pub deactivated_users: u64,
    pub appointments: u64,
    pub qnaires: u64,
    pub messages: u64,
    pub lab_integrations: u64,
    pub billing_links: u64,
    pub claims: u64,
}

/// Seeds the clinic in one transaction. `now` fixes the anchor day; the
/// admin gets `admin_hash` as their password hash.
pub fn seed_clinic(
    store: &mut dyn Store,
    size: &SeedSize,
    now: Timestamp,
    admin_hash: &str,
) -> Result<SeedSummary, StoreError> {
    let mut summary = SeedSummary::default();
    store.seed(&mut |sink| {
        let mut clinic = Clinic::new(*size, now, admin_hash);
        clinic.fill(sink)?;
        summary = clinic.summary;
        Ok(())
    })?;
    Ok(summary)
}

/// A clinic being seeded: the ids handed out so far and what was counted.
struct Clinic<'a> {
    size: SeedSize,
    /// The start of the anchor day, in seconds since the epoch.
    anchor: i64,
    admin_hash: &'a str,
    ids: HashMap<&'static str, i64>,
    /// Active practitioners, in insertion order.
    practitioners: Vec<i64>,
    /// Active users of every role, in insertion order.
    everyone: Vec<i64>,
    first_appointment: i64,
    summary: SeedSummary,
}

impl<'a> Clinic<'a> {
    fn new(size: SeedSize, now: Timestamp, admin_hash: &'a str) -> Clinic<'a> {
        Clinic {
            size,
            anchor: now.as_second().div_euclid(days(1)) * days(1),
            admin_hash,
            ids: HashMap::new(),
            practitioners: Vec::new(),
            everyone: Vec::new(),
            first_appointment: 0,
            summary: SeedSummary::default(),
        }
    }

    fn fill(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        self.cast(sink)?;
        self.generated_users(sink, Role::Practitioner, self.size.practitioners)?;
        self.generated_users(sink, Role::Staff, self.size.staff)?;
        self.labs(sink)?;
        self.appointments(sink)?;
        self.qnaires(sink)?;
        self.messages(sink)?;
        self.claims(sink)?;
        tracing::info!(
            users = self.summary.users,
            appointments = self.summary.appointments,
            messages = self.summary.messages,
            "seeded the clinic"
        );
        Ok(())
    }

    fn id(&self, username: &str) -> i64 {
        self.ids[username]
    }

    fn cast(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        for member in CAST {
            let deactivated = (member.username == FORMER).then(|| {
                (
                    at(self.anchor - days(60) + days(1) * 17 / 24),
                    self.id(cast::ADMIN),
                )
            });
            let password_hash = (member.username == cast::ADMIN).then_some(self.admin_hash);
            let user = NewUser {
                username: member.username,
                full_name: member.full_name,
                role: member.role,
                province: Some(member.province),
                password_hash,
                deactivated,
            };
            let id = self.add_user(sink, &user)?;
            self.ids.insert(member.username, id);
        }
        sink.permission(self.id(cast::ADMIN), "edit_other_users")?;
        Ok(())
    }

    fn generated_users(
        &mut self,
        sink: &mut dyn SeedSink,
        role: Role,
        count: u64,
    ) -> anyhow::Result<()> {
        let (prefix, salt) = match role {
            Role::Practitioner => ('p', 0),
            Role::Staff => ('s', 1 << 40),
        };
        for index in 1..=count {
            let mut rng = rng(self.size.seed, Stream::Users, salt + index);
            let username = format!("{prefix}{index:05}");
            let given = cast::GIVEN_NAMES[rng.usize(0..cast::GIVEN_NAMES.len())];
            let family = cast::FAMILY_NAMES[rng.usize(0..cast::FAMILY_NAMES.len())];
            let user = NewUser {
                username: &username,
                full_name: &format!("{given} {family}"),
                role,
                province: Some(cast::PROVINCES[rng.usize(0..cast::PROVINCES.len())]),
                password_hash: None,
                deactivated: None,
            };
            self.add_user(sink, &user)?;
        }
        Ok(())
    }

    fn add_user(&mut self, sink: &mut dyn SeedSink, user: &NewUser<'_>) -> anyhow::Result<i64> {
        let id = sink.user(user)?;
        self.summary.users += 1;
        if user.deactivated.is_some() {
            self.summary.deactivated_users += 1;
        } else {
            self.everyone.push(id);
            if user.role == Role::Practitioner {
                self.practitioners.push(id);
            }
        }
        if user.role == Role::Practitioner && user.province == Some(ONTARIO) {
            self.billing_link(sink, id, user.deactivated.is_none())?;
        }
        Ok(id)
    }

    fn billing_link(
        &mut self,
        sink: &mut dyn SeedSink,
        user_id: i64,
        connected: bool,
    ) -> anyhow::Result<()> {
        let number = (user_id * 37) % 900_000 + 100_000;
        sink.billing_link(&NewBillingLink {
            user_id,
            system: MDBILLING,
            billing_number: &number.to_string(),
            connected,
        })?;
        self.summary.billing_links += 1;
        Ok(())
    }

    fn labs(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        for (lab, username, is_main) in LABS {
            sink.lab(lab, self.id(username), *is_main)?;
            self.summary.lab_integrations += 1;
        }
        Ok(())
    }

    fn random_practitioner(&self, rng: &mut fastrand::Rng) -> i64 {
        self.practitioners[rng.usize(0..self.practitioners.len())]
    }

    /// Appointment `index`. The first two are a colliding pair (`jsmith` and
    /// `apatel` a week ahead); then one future booking per practitioner;
    /// then random ones, every fiftieth at the same time as the one before.
    fn appointment(&self, index: u64) -> NewAppointment {
        let mut rng = rng(self.size.seed, Stream::Appointments, index);
        let patient_id = rows::patient(&mut rng);
        let count = self.practitioners.len() as u64;
        let (practitioner_id, slot) = match index {
            0 => (self.id("jsmith"), self.fixed_slot(10 * 60)),
            1 => (self.id("apatel"), self.fixed_slot(10 * 60 + 15)),
            _ if index < 2 + count => (
                self.practitioners[(index - 2) as usize],
                self.slot(index, true),
            ),
            _ => (self.random_practitioner(&mut rng), self.slot(index, false)),
        };
        NewAppointment {
            practitioner_id,
            patient_id,
            starts_at: at(slot.starts_at),
            ends_at: at(slot.ends_at),
            status: slot.status,
        }
    }

    fn fixed_slot(&self, minute_of_day: i64) -> rows::Slot {
        let starts_at = self.anchor + days(7) + minute_of_day * 60;
        rows::Slot {
            starts_at,
            ends_at: starts_at + 30 * 60,
            status: "booked",
        }
    }

    fn slot(&self, index: u64, booked: bool) -> rows::Slot {
        if index % 50 == 49 && !booked {
            return self.slot(index - 1, false);
        }
        let mut rng = rng(self.size.seed, Stream::Slots, index);
        rows::slot(&mut rng, self.anchor, booked)
    }

    fn appointments(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        for index in 0..self.size.appointments {
            let id = sink.appointment(&self.appointment(index))?;
            if index == 0 {
                self.first_appointment = id;
            }
            anyhow::ensure!(
                id == self.first_appointment + index as i64,
                "could not seed appointments: their ids are not consecutive"
            );
        }
        self.summary.appointments = self.size.appointments;
        Ok(())
    }

    /// Qnaire `index`: in each run of ten, four appointment qnaires (tied to
    /// a random appointment, the first to `jsmith`'s), three recurring and
    /// three sent; the first runs give every practitioner open ones.
    fn qnaire(&self, index: u64) -> NewQnaire {
        let mut rng = rng(self.size.seed, Stream::Qnaires, index);
        let place = index % 10;
        if place < 4 && self.size.appointments > 0 {
            let which = if index == 0 {
                0
            } else {
                rng.u64(0..self.size.appointments)
            };
            let appointment = self.appointment(which);
            return NewQnaire {
                practitioner_id: appointment.practitioner_id,
                patient_id: appointment.patient_id,
                kind: "appointment",
                appointment_id: Some(self.first_appointment + which as i64),
                status: rows::appointment_qnaire_status(&mut rng, appointment.status),
            };
        }
        let round = index / 10;
        let opening = round < self.practitioners.len() as u64;
        let practitioner_id = if opening {
            self.practitioners[round as usize]
        } else {
            self.random_practitioner(&mut rng)
        };
        let (kind, status) = match (place < 7, opening) {
            (true, true) => ("recurring", "scheduled"),
            (true, false) => ("recurring", rows::recurring_status(&mut rng)),
            (false, true) => ("sent", "sent"),
            (false, false) => ("sent", rows::sent_status(&mut rng)),
        };
        NewQnaire {
            practitioner_id,
            patient_id: rows::patient(&mut rng),
            kind,
            appointment_id: None,
            status,
        }
    }

    fn qnaires(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        for index in 0..self.size.qnaires {
            sink.qnaire(&self.qnaire(index))?;
        }
        self.summary.qnaires = self.size.qnaires;
        Ok(())
    }

    /// Messages: the first one of each active user is open (every third of
    /// those snoozed); then random owners, about half archived and a fifth
    /// of the open ones snoozed.
    fn messages(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        let mut subject = String::with_capacity(64);
        let users = self.everyone.len() as u64;
        for index in 0..self.size.messages {
            let mut rng = rng(self.size.seed, Stream::Messages, index);
            let first = index < users;
            let owner_id = if first {
                self.everyone[index as usize]
            } else {
                self.everyone[rng.usize(0..self.everyone.len())]
            };
            let archived = !first && rng.bool();
            let snoozed = !archived
                && if first {
                    index % 3 == 1
                } else {
                    rng.u32(0..5) == 0
                };
            rows::subject(&mut rng, &mut subject);
            let received = self.anchor - rng.i64(600..days(365));
            let snoozed_until =
                snoozed.then(|| at(self.anchor + days(rng.i64(1..=30)) + days(1) / 3));
            sink.message(&NewMessage {
                owner_id,
                subject: &subject,
                received_at: at(received),
                snoozed_until,
                archived,
            })?;
        }
        self.summary.messages = self.size.messages;
        Ok(())
    }

    /// Claims: the first few are `jsmith`'s pending ones, the rest random.
    fn claims(&mut self, sink: &mut dyn SeedSink) -> anyhow::Result<()> {
        for index in 0..self.size.claims {
            let mut rng = rng(self.size.seed, Stream::Claims, index);
            let (practitioner_id, status) = if index < 5 {
                (self.id("jsmith"), rows::pending_status(index))
            } else {
                (
                    self.random_practitioner(&mut rng),
                    rows::claim_status(&mut rng),
                )
            };
            let service_date = rows::date_text(self.anchor - days(rng.i64(1..=180)));
            sink.claim(&NewClaim {
                practitioner_id,
                status,
                service_date: &service_date,
            })?;
        }
        self.summary.claims = self.size.claims;
        Ok(())
    }
}
