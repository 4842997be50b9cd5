//! Who may use the studio and how they prove it: each tenant's users from
//! `tenant.toml` (argon2 password hashes or SHA-256 token digests), the
//! sessions of signed-in users (random 256-bit ids in an HttpOnly,
//! SameSite=Strict cookie, each with its own CSRF token), and the lock-out
//! after repeated failed sign-ins.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tessera_pipeline::{StudioRole, StudioUser};

/// Failed sign-ins in a row that lock an account.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub(crate) const LOCK_OUT: Duration = Duration::from_secs(15 * 60);
/// A session unused this long is over.
const IDLE: Duration = Duration::from_secs(8 * 60 * 60);
/// The session cookie.
pub(crate) const COOKIE: &str = "tessera_studio";

/// Which layer a user edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The tenant's own layer (users in the tenant's `tenant.toml`).
    Tenant,
    /// The provider's base layer (users in the provider's `provider.toml`):
    /// a change there reaches every tenant built on it.
    Provider,
}

/// A studio user, checked at start-up.
pub(crate) struct Person {
    pub name: String,
    pub role: StudioRole,
    pub scope: Scope,
    password: Option<String>,
    token: Option<[u8; 32]>,
}

/// Names and roles only: hashes stay out of logs and panics.
impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

/// Parses a tenant's users; a malformed hash or a duplicate name is an
/// error naming the tenant and the user, never a silent lock-out.
pub(crate) fn people(owner: &str, users: &[StudioUser], scope: Scope) -> Result<Vec<Person>, String> {
    let mut out: Vec<Person> = Vec::new();
    for user in users {
        let at = format!("{owner}: [[studio.users]] `{}`", user.name);
        if user.name.trim().is_empty() || user.name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
            return Err(format!("{at}: the name must be printable and without `<` or `>`"));
        }
        if out.iter().any(|p| p.name == user.name) {
            return Err(format!("{at} is listed twice"));
        }
        if let Some(hash) = &user.password_argon2 {
            PasswordHash::new(hash).map_err(|e| format!("{at}: password_argon2 is not an argon2 PHC string: {e}"))?;
        }
        let token = match &user.token_sha256 {
            Some(hex) => Some(crate::auth::parse_digests(owner, std::slice::from_ref(hex))?[0]),
            None => None,
        };
        if user.password_argon2.is_none() && token.is_none() {
            return Err(format!("{at} has neither password_argon2 nor token_sha256 and so could never sign in"));
        }
        out.push(Person {
            name: user.name.clone(),
            role: user.role,
            scope,
            password: user.password_argon2.clone(),
            token,
        });
    }
    Ok(out)
}

/// Whether `secret` is the person's password or token. Slow on purpose
/// (argon2): call it off the async threads.
pub(crate) fn verify(person: Option<&Person>, secret: &str) -> bool {
    // An unknown user costs the same argon2 run as a known one, so timing
    // does not tell which names exist.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let argon = argon2::Argon2::default();
    let Some(person) = person else {
        let dummy = DUMMY.get_or_init(|| hash_password("no such user").unwrap_or_default());
        let _ = PasswordHash::new(dummy).map(|h| argon.verify_password(secret.as_bytes(), &h));
        return false;
    };
    let by_token = person.token.is_some_and(|t| crate::auth::matches(&crate::auth::digest(secret), &[t]));
    let by_password = person
        .password
        .as_deref()
        .and_then(|h| PasswordHash::new(h).ok())
        .is_some_and(|h| argon.verify_password(secret.as_bytes(), &h).is_ok());
    by_token | by_password
}

/// An argon2id PHC string for `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub tenant: String,
    pub user: String,
    pub role: StudioRole,
    pub scope: Scope,
    pub csrf: String,
    last_used: Instant,
}

/// Failed sign-ins in a row, and until when the account is locked.
type Failures = (u32, Option<Instant>);

/// Sessions and failed sign-ins, in memory (a restart signs everyone out).
#[derive(Default)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<(String, String), Failures>>,
}

/// 256 random bits as hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS gives randomness");
    hex::encode(bytes)
}

impl Sessions {
    /// Starts a session; the id goes into the cookie.
    pub fn open(&self, tenant: &str, user: &str, role: StudioRole, scope: Scope) -> (String, Session) {
        let session = Session {
            tenant: tenant.to_owned(),
            user: user.to_owned(),
            role,
            scope,
            csrf: random_token(),
            last_used: Instant::now(),
        };
        let id = random_token();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| s.last_used.elapsed() < IDLE);
        live.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The session behind a cookie value, if it is live.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let session = live.get_mut(id)?;
        if session.last_used.elapsed() >= IDLE {
            live.remove(id);
            return None;
        }
        session.last_used = Instant::now();
        Some(session.clone())
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// When the account is locked, until when.
    pub fn locked(&self, tenant: &str, user: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (_, until) = failures.get(&(tenant.to_owned(), user.to_owned()))?;
        until.and_then(|u| u.checked_duration_since(Instant::now()))
    }

    /// Counts a failed sign-in; the fifth in a row locks the account.
    pub fn failed(&self, tenant: &str, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = failures.entry((tenant.to_owned(), user.to_owned())).or_insert((0, None));
        if entry.1.is_some_and(|u| u <= Instant::now()) {
            *entry = (0, None);
        }
        entry.0 += 1;
        if entry.0 >= MAX_FAILURES {
            entry.1 = Some(Instant::now() + LOCK_OUT);
            tracing::warn!(tenant, user, "studio account locked after {MAX_FAILURES} failed sign-ins");
        }
    }

    /// A successful sign-in clears the count.
    pub fn succeeded(&self, tenant: &str, user: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&(tenant.to_owned(), user.to_owned()));
    }
}

/// The session id in a `Cookie:` header.
pub(crate) fn cookie(header: Option<&str>) -> Option<&str> {
    header?.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == COOKIE).map(|(_, v)| v)
}

/// Compares two tokens without an early exit.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, password: Option<&str>, token: Option<&str>) -> StudioUser {
        StudioUser {
            name: name.into(),
            role: StudioRole::Author,
            password_argon2: password.map(|p| hash_password(p).unwrap()),
            token_sha256: token.map(crate::auth::token_digest),
        }
    }

    #[test]
    fn passwords_and_tokens_verify_only_themselves() {
        let people = people(
            "tenant `acme`",
            &[user("alice", Some("correct horse"), None), user("bot", None, Some("tok"))],
            Scope::Tenant,
        )
        .unwrap();
        assert!(verify(Some(&people[0]), "correct horse"));
        assert!(!verify(Some(&people[0]), "correct horse "));
        assert!(verify(Some(&people[1]), "tok"));
        assert!(!verify(Some(&people[1]), "correct horse"));
        assert!(!verify(None, "anything"));
    }

    #[test]
    fn bad_user_lists_are_named() {
        let mut broken = user("alice", None, None);
        broken.password_argon2 = Some("plain-text".into());
        assert!(people("tenant `acme`", &[broken], Scope::Tenant).unwrap_err().contains("alice"));
        assert!(
            people("tenant `acme`", &[user("bob", None, None)], Scope::Tenant).unwrap_err().contains("never sign in")
        );
        let twice = [user("a", Some("x"), None), user("a", Some("y"), None)];
        assert!(people("tenant `acme`", &twice, Scope::Tenant).unwrap_err().contains("twice"));
    }

    #[test]
    fn five_failures_lock_and_success_clears() {
        let sessions = Sessions::default();
        for _ in 0..MAX_FAILURES - 1 {
            sessions.failed("acme", "alice");
        }
        assert!(sessions.locked("acme", "alice").is_none());
        sessions.succeeded("acme", "alice");
        for _ in 0..MAX_FAILURES {
            sessions.failed("acme", "alice");
        }
        assert!(sessions.locked("acme", "alice").is_some_and(|d| d > Duration::from_secs(14 * 60)));
        assert!(sessions.locked("other", "alice").is_none(), "per tenant and user");
    }

    #[test]
    fn sessions_and_cookies() {
        let sessions = Sessions::default();
        let (id, s) = sessions.open("acme", "alice", StudioRole::Author, Scope::Tenant);
        assert_eq!((id.len(), s.csrf.len()), (64, 64));
        assert_ne!(id, s.csrf);
        assert_eq!(sessions.get(&id).unwrap().user, "alice");
        let header = format!("a=b; {COOKIE}={id}; c=d");
        assert_eq!(cookie(Some(&header)), Some(id.as_str()));
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
