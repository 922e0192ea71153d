//! The EMR tables of DESIGN §1 as SQLite creates them for a simulated
//! clinic, the indexes the review and the moves need, and the contract check
//! of an existing database (every table and column present).

use rusqlite::Connection;

/// Each EMR table and the columns handover relies on.
pub const CONTRACT: &[(&str, &[&str])] = &[
    (
        "users",
        &[
            "id",
            "username",
            "full_name",
            "role",
            "province",
            "password_hash",
            "active",
            "deactivated_at",
            "deactivated_by",
        ],
    ),
    ("user_permissions", &["user_id", "permission"]),
    (
        "appointments",
        &[
            "id",
            "practitioner_id",
            "patient_id",
            "starts_at",
            "ends_at",
            "status",
        ],
    ),
    (
        "qnaires",
        &[
            "id",
            "practitioner_id",
            "patient_id",
            "kind",
            "appointment_id",
            "status",
        ],
    ),
    (
        "inbox_messages",
        &[
            "id",
            "owner_id",
            "subject",
            "received_at",
            "snoozed_until",
            "archived",
            "forwarded_from",
        ],
    ),
    ("lab_integrations", &["id", "lab", "user_id", "is_main"]),
    (
        "billing_links",
        &["user_id", "system", "billing_number", "connected"],
    ),
    (
        "billing_claims",
        &["id", "practitioner_id", "status", "service_date"],
    ),
];

/// The statements that create the EMR tables, in dependency order.
pub const TABLES: &[(&str, &str)] = &[
    (
        "users",
        "CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            full_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('practitioner', 'staff')),
            province TEXT,
            password_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            deactivated_at TEXT,
            deactivated_by INTEGER REFERENCES users(id)
        )",
    ),
    (
        "user_permissions",
        "CREATE TABLE user_permissions (
            user_id INTEGER NOT NULL REFERENCES users(id),
            permission TEXT NOT NULL,
            PRIMARY KEY (user_id, permission)
        )",
    ),
    (
        "appointments",
        "CREATE TABLE appointments (
            id INTEGER PRIMARY KEY,
            practitioner_id INTEGER NOT NULL REFERENCES users(id),
            patient_id INTEGER NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'completed'))
        )",
    ),
    (
        "qnaires",
        "CREATE TABLE qnaires (
            id INTEGER PRIMARY KEY,
            practitioner_id INTEGER NOT NULL REFERENCES users(id),
            patient_id INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('appointment', 'recurring', 'sent')),
            appointment_id INTEGER REFERENCES appointments(id),
            status TEXT NOT NULL CHECK (status IN ('scheduled', 'sent', 'completed', 'removed'))
        )",
    ),
    (
        "inbox_messages",
        "CREATE TABLE inbox_messages (
            id INTEGER PRIMARY KEY,
            owner_id INTEGER NOT NULL REFERENCES users(id),
            subject TEXT NOT NULL,
            received_at TEXT NOT NULL,
            snoozed_until TEXT,
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            forwarded_from INTEGER REFERENCES users(id)
        )",
    ),
    (
        "lab_integrations",
        "CREATE TABLE lab_integrations (
            id INTEGER PRIMARY KEY,
            lab TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            is_main INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0, 1))
        )",
    ),
    (
        "billing_links",
        "CREATE TABLE billing_links (
            user_id INTEGER NOT NULL REFERENCES users(id),
            system TEXT NOT NULL,
            billing_number TEXT NOT NULL,
            connected INTEGER NOT NULL DEFAULT 1 CHECK (connected IN (0, 1)),
            PRIMARY KEY (user_id, system)
        )",
    ),
    (
        "billing_claims",
        "CREATE TABLE billing_claims (
            id INTEGER PRIMARY KEY,
            practitioner_id INTEGER NOT NULL REFERENCES users(id),
            status TEXT NOT NULL
                CHECK (status IN ('draft', 'ready', 'submitted', 'rejected', 'paid')),
            service_date TEXT NOT NULL
        )",
    ),
];

/// The indexes handover creates on the EMR tables, by name. The review's
/// queries read only indexes: `ends_at` (schedule overlaps) and
/// `snoozed_until` (snoozed messages) are in them so that a leaver's rows
/// need no lookup in tables scattered over the whole clinic.
pub const INDEXES: &[(&str, &str)] = &[
    (
        "appointments_by_practitioner",
        "CREATE INDEX IF NOT EXISTS appointments_by_practitioner
            ON appointments(practitioner_id, status, starts_at, ends_at)",
    ),
    (
        "qnaires_by_practitioner",
        "CREATE INDEX IF NOT EXISTS qnaires_by_practitioner
            ON qnaires(practitioner_id, kind, status)",
    ),
    (
        "qnaires_by_appointment",
        "CREATE INDEX IF NOT EXISTS qnaires_by_appointment ON qnaires(appointment_id)",
    ),
    (
        "inbox_messages_by_owner",
        "CREATE INDEX IF NOT EXISTS inbox_messages_by_owner
            ON inbox_messages(owner_id, archived, snoozed_until)",
    ),
    (
        "lab_integrations_by_user",
        "CREATE INDEX IF NOT EXISTS lab_integrations_by_user ON lab_integrations(user_id)",
    ),
    (
        "billing_claims_by_practitioner",
        "CREATE INDEX IF NOT EXISTS billing_claims_by_practitioner
            ON billing_claims(practitioner_id, status)",
    ),
];

/// What an existing database holds of the EMR contract.
#[derive(Debug, Default)]
pub struct Survey {
    /// EMR tables present.
    pub present: Vec<&'static str>,
    /// Tables and `table.column`s missing from the contract.
    pub missing: Vec<String>,
    /// Handover indexes not yet created.
    pub missing_indexes: Vec<&'static str>,
}

impl Survey {
    /// No EMR table at all: a new database to create them in.
    pub fn is_empty(&self) -> bool {
        self.present.is_empty()
    }
}

/// Looks at which EMR tables, columns and indexes exist.
pub fn survey(conn: &Connection) -> rusqlite::Result<Survey> {
    let mut survey = Survey::default();
    for (table, columns) in CONTRACT {
        let found = table_columns(conn, table)?;
        if found.is_empty() {
            survey.missing.push((*table).to_string());
            continue;
        }
        survey.present.push(table);
        for column in *columns {
            if !found.iter().any(|name| name == column) {
                survey.missing.push(format!("{table}.{column}"));
            }
        }
    }
    for (name, _) in INDEXES {
        if !index_exists(conn, name)? {
            survey.missing_indexes.push(name);
        }
    }
    Ok(survey)
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let rows = statement.query_map([table], |row| row.get(0))?;
    rows.collect()
}

fn index_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
        [name],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count > 0)
}
