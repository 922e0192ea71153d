//! Operator passwords: argon2id hashes in PHC strings at OWASP's minimum
//! cost (19 MiB of memory, 2 passes, 1 lane), and generated passwords for
//! the seeded `admin`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Number of passes.
pub const PASSES: u32 = 2;
/// Degree of parallelism.
pub const LANES: u32 = 1;

const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
const GENERATED_LEN: usize = 24;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh random salt, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let hash = hasher()
        .hash_password(password.as_bytes())
        .map_err(|err| anyhow::anyhow!("could not hash the password: {err}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC string. A malformed hash matches
/// nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    hasher().verify_password(password.as_bytes(), &hash).is_ok()
}

/// A new random password (120 bits from the operating system's generator),
/// easy to type: lowercase letters, digits and `-`, no look-alikes.
pub fn generate_password() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(&argon2::password_hash::generate_salt());
    bytes.extend_from_slice(&argon2::password_hash::generate_salt());
    bytes
        .iter()
        .take(GENERATED_LEN)
        .map(|byte| ALPHABET[usize::from(byte % 32)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_owasp_minimum_cost() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[test]
    fn verify_accepts_the_password_and_nothing_else() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn generated_passwords_differ_and_use_the_alphabet() {
        let first = generate_password();
        assert_eq!(first.len(), GENERATED_LEN);
        assert!(first.bytes().all(|byte| ALPHABET.contains(&byte)));
        assert_ne!(first, generate_password());
    }
}
