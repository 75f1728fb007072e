//! Local users: a name, an argon2id password hash, a role and an account scope, in
//! `auth/users.json` (mode 0600) of the data directory.

use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use cairn_store::Scope;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::tokens::Role;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (argon2 would take any length; a cap keeps requests cheap).
pub const MAX_PASSWORD: usize = 1024;

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    /// The PHC string of an argon2id hash.
    pub hash: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Scope::is_all")]
    pub scope: Scope,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds of the last password change.
    pub changed: i64,
}

/// The user file of a data directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Users {
    pub users: Vec<User>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("auth").join("users.json")
}

/// Checks a user name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("a user name has 1 to 64 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(format!(
            "user name {name:?}: only letters, digits, '.', '_', '-' and '@'"
        ));
    }
    Ok(())
}

/// Checks a new password's length.
pub fn valid_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!("a password has at least {MIN_PASSWORD} characters"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!("a password has at most {MAX_PASSWORD} bytes"));
    }
    Ok(())
}

/// An argon2id hash of a password, with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Whether a password matches a stored hash (in constant time, through argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash that no password matches, checked when the user does not exist so that a wrong name
/// takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("cairn decoy password, never a user's"))
}

impl Users {
    pub fn load(data_dir: &Path) -> std::io::Result<Users> {
        match std::fs::read(path(data_dir)) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the file (0600) atomically.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        crate::tokens::write_private(
            &path(data_dir),
            &serde_json::to_vec_pretty(self).expect("users serialize"),
        )
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds a user; an error when the name is taken or invalid.
    pub fn add(
        &mut self,
        name: &str,
        password: &str,
        role: Role,
        scope: Scope,
        now: i64,
    ) -> Result<(), String> {
        valid_name(name)?;
        valid_password(password)?;
        if self.get(name).is_some() {
            return Err(format!("user {name:?} exists"));
        }
        self.users.push(User {
            name: name.to_string(),
            hash: hash_password(password),
            role,
            scope,
            created: now,
            changed: now,
        });
        Ok(())
    }

    /// Sets a user's password.
    pub fn passwd(&mut self, name: &str, password: &str, now: i64) -> Result<(), String> {
        valid_password(password)?;
        let u = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| format!("no user {name:?}"))?;
        u.hash = hash_password(password);
        u.changed = now;
        Ok(())
    }

    /// Removes a user; false when there is none.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        self.users.len() != before
    }

    /// The user, when the password is right.
    pub fn check(&self, name: &str, password: &str) -> Option<&User> {
        match self.get(name) {
            Some(u) if verify_password(password, &u.hash) => Some(u),
            Some(_) => None,
            None => {
                verify_password(password, decoy_hash());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let mut u = Users::default();
        assert!(
            u.add("alice", "short", Role::Viewer, Scope::ALL, 0)
                .is_err()
        );
        u.add(
            "alice",
            "correct horse battery",
            Role::Analyst,
            Scope::ALL,
            0,
        )
        .unwrap();
        assert!(u.users[0].hash.starts_with("$argon2id$"));
        assert!(u.check("alice", "correct horse battery").is_some());
        assert!(u.check("alice", "correct horse batterY").is_none());
        assert!(u.check("bob", "correct horse battery").is_none());
        assert!(
            u.add("alice", "another long one", Role::Viewer, Scope::ALL, 0)
                .is_err()
        );
        u.passwd("alice", "a brand new secret", 1).unwrap();
        assert!(u.check("alice", "correct horse battery").is_none());
        assert!(u.check("alice", "a brand new secret").is_some());
        assert!(u.remove("alice"));
        assert!(!u.remove("alice"));
        assert!(valid_name("a/../b").is_err());
    }
}
