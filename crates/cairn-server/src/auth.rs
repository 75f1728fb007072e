//! Who is asking: sessions of local users (cookie and CSRF token), API tokens (SigV4 or a
//! bearer header), and the login rate limit.
//!
//! The user and token files are read again whenever they change on disk, so that `cairn users`
//! and `cairn tokens` take effect at the next request: a removed user's sessions end, a changed
//! role or scope applies at once.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cairn_store::Scope;

use crate::tokens::{Role, Tokens, random_chars};
use crate::users::Users;

/// The name of the session cookie.
pub const COOKIE: &str = "cairn_session";
/// The header carrying the CSRF token on state-changing requests made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long without a request...
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// ...and after this long in any case.
pub const SESSION_MAX: Duration = Duration::from_secs(24 * 3600);
/// Most live sessions; the oldest go first beyond it.
pub const MAX_SESSIONS: usize = 10_000;
/// Failed logins allowed per client address and per user name within [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub via: Via,
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A browser session; state-changing requests must carry its CSRF token.
    Session { id: String, csrf: String },
    /// An API token (SigV4 or bearer); no cookies, so no CSRF.
    Token { id: String },
    /// `--no-auth`.
    Anonymous,
}

impl Principal {
    pub fn anonymous() -> Principal {
        Principal {
            name: "anonymous".into(),
            role: Role::Admin,
            scope: Scope::ALL,
            via: Via::Anonymous,
        }
    }

    /// The CSRF token the UI must echo (empty without a session).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            _ => "",
        }
    }
}

/// Compares secrets without leaking where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A file read again when its modification time or size changes.
struct Cached<T> {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
    value: Arc<T>,
}

impl<T: Default> Cached<T> {
    fn new(path: PathBuf) -> Cached<T> {
        Cached {
            path,
            seen: None,
            value: Arc::new(T::default()),
        }
    }

    fn get(&mut self, load: impl Fn() -> std::io::Result<T>) -> std::io::Result<Arc<T>> {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => Some((m.modified()?, m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if stamp != self.seen || stamp.is_none() {
            self.value = Arc::new(load()?);
            self.seen = stamp;
        }
        Ok(self.value.clone())
    }
}

struct Session {
    user: String,
    csrf: String,
    created: Instant,
    seen: Instant,
}

/// The authentication state of a server.
pub struct Auth {
    dir: PathBuf,
    users: Mutex<Cached<Users>>,
    tokens: Mutex<Cached<Tokens>>,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

const SESSION_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Auth {
    /// Authentication over the users and tokens of a data directory.
    pub fn new(data_dir: &Path) -> Auth {
        Auth {
            dir: data_dir.to_path_buf(),
            users: Mutex::new(Cached::new(crate::users::path(data_dir))),
            tokens: Mutex::new(Cached::new(data_dir.join("auth").join("tokens.json"))),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn users(&self) -> std::io::Result<Arc<Users>> {
        let dir = self.dir.clone();
        self.users
            .lock()
            .expect("users lock")
            .get(|| Users::load(&dir))
    }

    pub fn tokens(&self) -> std::io::Result<Arc<Tokens>> {
        let dir = self.dir.clone();
        self.tokens
            .lock()
            .expect("tokens lock")
            .get(|| Tokens::load(&dir))
    }

    /// Whether anyone at all can log in or sign requests.
    pub fn has_credentials(&self) -> std::io::Result<bool> {
        Ok(!self.users()?.users.is_empty() || self.tokens()?.any_active())
    }

    /// Starts a session for a user; returns its id and CSRF token.
    pub fn start_session(&self, user: &str) -> (String, String) {
        let id = random_chars(43, SESSION_ALPHABET);
        let csrf = random_chars(43, SESSION_ALPHABET);
        let now = Instant::now();
        let mut s = self.sessions.lock().expect("sessions lock");
        s.retain(|_, x| live(x, now));
        if s.len() >= MAX_SESSIONS
            && let Some(oldest) = s
                .iter()
                .min_by_key(|(_, x)| x.created)
                .map(|(k, _)| k.clone())
        {
            s.remove(&oldest);
        }
        s.insert(
            id.clone(),
            Session {
                user: user.to_string(),
                csrf: csrf.clone(),
                created: now,
                seen: now,
            },
        );
        (id, csrf)
    }

    pub fn end_session(&self, id: &str) {
        self.sessions.lock().expect("sessions lock").remove(id);
    }

    /// The caller of a session cookie, with the user's current role and scope.
    pub fn session(&self, id: &str) -> std::io::Result<Option<Principal>> {
        let now = Instant::now();
        let (user, csrf) = {
            let mut s = self.sessions.lock().expect("sessions lock");
            let Some(x) = s.get_mut(id) else {
                return Ok(None);
            };
            if !live(x, now) {
                s.remove(id);
                return Ok(None);
            }
            x.seen = now;
            (x.user.clone(), x.csrf.clone())
        };
        let users = self.users()?;
        let Some(u) = users.get(&user) else {
            self.end_session(id);
            return Ok(None);
        };
        Ok(Some(Principal {
            name: u.name.clone(),
            role: u.role,
            scope: u.scope.clone(),
            via: Via::Session {
                id: id.to_string(),
                csrf,
            },
        }))
    }

    /// The caller of a bearer header `ACCESS_KEY_ID:SECRET`.
    pub fn bearer(&self, value: &str) -> std::io::Result<Option<Principal>> {
        let Some((id, secret)) = value.split_once(':') else {
            return Ok(None);
        };
        let tokens = self.tokens()?;
        Ok(tokens
            .active(id)
            .filter(|t| same_secret(t.secret.as_bytes(), secret.as_bytes()))
            .map(token_principal))
    }

    /// How long a client must wait before trying to log in again, if it must.
    pub fn login_blocked(&self, ip: &str, user: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("failures lock");
        [format!("ip:{ip}"), format!("user:{user}")]
            .iter()
            .filter_map(|k| {
                let q = f.get_mut(k)?;
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > LOGIN_WINDOW)
                {
                    q.pop_front();
                }
                (q.len() >= LOGIN_FAILURES)
                    .then(|| LOGIN_WINDOW.saturating_sub(now.duration_since(q[0])))
            })
            .max()
    }

    /// Counts a failed login against the address and the name.
    pub fn login_failed(&self, ip: &str, user: &str) {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("failures lock");
        if f.len() > 100_000 {
            f.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW)
            });
        }
        for k in [format!("ip:{ip}"), format!("user:{user}")] {
            let q = f.entry(k).or_default();
            q.push_back(now);
            if q.len() > LOGIN_FAILURES {
                q.pop_front();
            }
        }
    }

    /// Clears the name's failures after a successful login (the address's stay).
    pub fn login_succeeded(&self, user: &str) {
        self.failures
            .lock()
            .expect("failures lock")
            .remove(&format!("user:{user}"));
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.seen) < SESSION_IDLE && now.duration_since(s.created) < SESSION_MAX
}

/// The caller an API token stands for.
pub fn token_principal(t: &crate::tokens::Token) -> Principal {
    Principal {
        name: format!("token:{}", t.name),
        role: t.role,
        scope: t.scope.clone(),
        via: Via::Token { id: t.id.clone() },
    }
}

/// The value of one cookie in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_secrets() {
        assert_eq!(cookie("a=1; cairn_session=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("xcairn_session=1", COOKIE), None);
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }

    #[test]
    fn logins_are_limited_per_address_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::new(dir.path());
        for _ in 0..LOGIN_FAILURES {
            assert!(a.login_blocked("1.2.3.4", "alice").is_none());
            a.login_failed("1.2.3.4", "alice");
        }
        assert!(a.login_blocked("1.2.3.4", "bob").is_some());
        assert!(a.login_blocked("5.6.7.8", "alice").is_some());
        assert!(a.login_blocked("5.6.7.8", "bob").is_none());
        a.login_succeeded("alice");
        assert!(a.login_blocked("5.6.7.8", "alice").is_none());
    }

    #[test]
    fn sessions_end() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::new(dir.path());
        let mut u = Users::default();
        u.add(
            "alice",
            "correct horse battery",
            Role::Viewer,
            Scope::ALL,
            0,
        )
        .unwrap();
        u.save(dir.path()).unwrap();
        let (id, csrf) = a.start_session("alice");
        let p = a.session(&id).unwrap().unwrap();
        assert_eq!(p.csrf(), csrf);
        assert!(a.session("nope").unwrap().is_none());
        a.end_session(&id);
        assert!(a.session(&id).unwrap().is_none());
        let (id, _) = a.start_session("alice");
        u.remove("alice");
        u.save(dir.path()).unwrap();
        assert!(a.session(&id).unwrap().is_none());
    }
}
