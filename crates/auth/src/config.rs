//! Lifetimes, lockout policy and the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// How long a bearer access token is valid.
    pub access_token_ttl: Duration,
    /// How long a refresh token is valid (each use issues a new one).
    pub refresh_token_ttl: Duration,
    /// How long an authorization code may wait to be exchanged.
    pub code_ttl: Duration,
    /// A staff session unused for this long ends (NHS guidance: lock idle clinical
    /// sessions).
    pub session_idle: Duration,
    /// A staff session ends this long after sign-in, however busy.
    pub session_max: Duration,
    /// Failed sign-ins in a row that lock an account.
    pub max_failures: u32,
    /// How long a locked account stays locked.
    pub lockout: Duration,
    /// The FHIR base URL (`https://gp.example/fhir`): apps must name it as `aud`
    /// (SMART App Launch), and the server publishes it as the issuer. `None` accepts any
    /// `aud` (development).
    pub fhir_base_url: Option<String>,
    /// Where the time comes from (a manual clock in tests).
    pub clock: Clock,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_ttl: Duration::from_secs(10 * 60),
            refresh_token_ttl: Duration::from_secs(8 * 3600),
            code_ttl: Duration::from_secs(60),
            session_idle: Duration::from_secs(15 * 60),
            session_max: Duration::from_secs(12 * 3600),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
            fhir_base_url: None,
            clock: Clock::system(),
        }
    }
}

/// The current time: the system's, or a manual one that tests move forward.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual_micros: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock standing at `unix_seconds` until [`Clock::advance`] moves it. Clones share
    /// the time, so a test keeps one and hands another to the config.
    pub fn manual(unix_seconds: i64) -> Clock {
        Clock {
            manual_micros: Some(Arc::new(AtomicI64::new(unix_seconds * 1_000_000))),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved, so this does
    /// nothing to it.
    pub fn advance(&self, by: Duration) {
        if let Some(micros) = &self.manual_micros {
            micros.fetch_add(duration_micros(by), Ordering::SeqCst);
        }
    }

    /// Microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        match &self.manual_micros {
            Some(micros) => micros.load(Ordering::SeqCst),
            None => store::time::now_micros(),
        }
    }

    pub fn now_seconds(&self) -> u64 {
        u64::try_from(self.now_micros() / 1_000_000).unwrap_or(0)
    }
}

pub(crate) fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
