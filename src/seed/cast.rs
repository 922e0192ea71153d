//! The named cast every seeded clinic starts with: the people the example
//! plans in `jobs/` and the demo talk about, with fixed roles, provinces,
//! lab feeds and billing links.

use crate::store::Role;

/// A named member of the cast.
pub struct Member {
    pub username: &'static str,
    pub full_name: &'static str,
    pub role: Role,
    pub province: &'static str,
}

const fn member(
    username: &'static str,
    full_name: &'static str,
    role: Role,
    province: &'static str,
) -> Member {
    Member {
        username,
        full_name,
        role,
        province,
    }
}

/// The operator who may deactivate others; the only member with a password.
pub const ADMIN: &str = "admin";

/// The practitioner already deactivated (by `admin`) in every seeded clinic.
pub const FORMER: &str = "hformer";

/// Everyone, in insertion order (`admin` first, `hformer` last).
pub const CAST: &[Member] = &[
    member(ADMIN, "Avery Admin", Role::Staff, "ON"),
    member("jsmith", "Jordan Smith", Role::Practitioner, "ON"),
    member("apatel", "Anika Patel", Role::Practitioner, "ON"),
    member("bchen", "Bo Chen", Role::Practitioner, "BC"),
    member("mlopez", "Marta Lopez", Role::Practitioner, "QC"),
    member("kwong", "Kit Wong", Role::Practitioner, "BC"),
    member("rnguyen", "Rosa Nguyen", Role::Practitioner, "AB"),
    member("tgarcia", "Tomas Garcia", Role::Practitioner, "ON"),
    member("lmartin", "Lea Martin", Role::Practitioner, "QC"),
    member("dokafor", "Dayo Okafor", Role::Practitioner, "ON"),
    member("reception", "Front Desk", Role::Staff, "ON"),
    member("nurse.lee", "Dana Lee", Role::Staff, "ON"),
    member(FORMER, "Harper Former", Role::Practitioner, "ON"),
];

/// The lab integrations: lab name, the cast member whose details back it,
/// and whether it is the clinic's main one.
pub const LABS: &[(&str, &str, bool)] = &[
    ("Lakeshore Medical Labs", "mlopez", true),
    ("Riverside Pathology", "jsmith", false),
    ("Summit Diagnostics", "bchen", false),
    ("Harbour Imaging", "kwong", false),
];

/// The billing system of Ontario practitioners.
pub const MDBILLING: &str = "mdbilling";

/// The province whose practitioners bill through [`MDBILLING`].
pub const ONTARIO: &str = "ON";

/// Provinces of generated users, weighted towards Ontario.
pub const PROVINCES: &[&str] = &["ON", "ON", "ON", "BC", "QC", "AB", "NS", "MB"];

/// Given names and family names of generated users.
pub const GIVEN_NAMES: &[&str] = &[
    "Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kira", "Luis", "Mina",
    "Noor", "Omar", "Pia", "Quinn", "Ravi", "Sana", "Theo",
];
pub const FAMILY_NAMES: &[&str] = &[
    "Abbott",
    "Banerjee",
    "Castro",
    "Dubois",
    "Evans",
    "Fischer",
    "Gill",
    "Huang",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Osei",
    "Price",
    "Quispe",
    "Rossi",
];
