//! API tokens: an access key id and a secret, as AWS credentials are, so that the AWS CLI and
//! SDKs sign requests to cairn with SigV4 exactly as they sign requests to AWS.
//!
//! SigV4 needs the secret itself on the server (it is an HMAC key), so secrets are stored, in
//! `auth/tokens.json` with mode 0600, and shown once when created. Revoked tokens stay listed.

use std::path::{Path, PathBuf};

use cairn_store::Scope;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Analyst,
    Viewer,
}

/// What a role may do beyond reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Search, events, facets, timelines, alerts, monitors, rules, health, integrity, stats,
    /// LookupEvents: everything in the reader's scope.
    Read,
    /// Acknowledge alerts.
    Triage,
    /// Users, tokens, the audit log, metrics.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    pub fn may(self, p: Permission) -> bool {
        match p {
            Permission::Read => true,
            Permission::Triage => matches!(self, Role::Admin | Role::Analyst),
            Permission::Admin => self == Role::Admin,
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// `CKIA` and 16 upper-case letters and digits, like an AWS access key id.
    pub id: String,
    pub secret: String,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Scope::is_all")]
    pub scope: Scope,
    /// Unix seconds.
    pub created: i64,
    #[serde(default)]
    pub revoked: Option<i64>,
}

/// The token file of a data directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub tokens: Vec<Token>,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("auth").join("tokens.json")
}

/// Writes a file only its owner may read (0600), whole or not at all, creating its directory
/// (0700).
pub fn write_private(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = p.parent().expect("a parent");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = p.file_name().expect("a file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, p)
}

/// Random characters from an alphabet, from the system's random source.
pub fn random_chars(n: usize, alphabet: &[u8]) -> String {
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut b = [0u8; 1];
        rng.fill(&mut b).expect("the system's random source");
        // Rejection sampling keeps the choice uniform.
        let limit = 256 - 256 % alphabet.len();
        if usize::from(b[0]) < limit {
            out.push(alphabet[usize::from(b[0]) % alphabet.len()] as char);
        }
    }
    out
}

impl Tokens {
    pub fn load(data_dir: &Path) -> std::io::Result<Tokens> {
        match std::fs::read(path(data_dir)) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tokens::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the file (0600) atomically.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        write_private(
            &path(data_dir),
            &serde_json::to_vec_pretty(self).expect("tokens serialize"),
        )
    }

    /// A new token (not yet saved).
    pub fn create(&mut self, name: &str, role: Role, scope: Scope, now: i64) -> Token {
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let t = Token {
            id: format!("CKIA{}", random_chars(16, UPPER)),
            secret: random_chars(40, SECRET),
            name: name.to_string(),
            role,
            scope,
            created: now,
            revoked: None,
        };
        self.tokens.push(t.clone());
        t
    }

    /// Revokes a token; false when there is none with that id.
    pub fn revoke(&mut self, id: &str, now: i64) -> bool {
        match self.tokens.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                t.revoked.get_or_insert(now);
                true
            }
            None => false,
        }
    }

    /// The live token with this access key id.
    pub fn active(&self, id: &str) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| t.id == id && t.revoked.is_none())
    }

    pub fn any_active(&self) -> bool {
        self.tokens.iter().any(|t| t.revoked.is_none())
    }
}
