//! Sign-in throttling: exponential back-off after repeated failures, per account (tenant and
//! e-mail) and per client address. An account's wait is capped low, so that an attacker who
//! guesses at someone's password cannot keep the real user out for long; an address's wait is
//! capped high. Counters live in this process: each replica throttles on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before the first wait.
const ACCOUNT_FREE_FAILURES: u32 = 5;
const ADDRESS_FREE_FAILURES: u32 = 20;
/// The longest wait a key can be given.
const ACCOUNT_MAX_WAIT: Duration = Duration::from_secs(30);
const ADDRESS_MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A key with no failure for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Above this many keys, forgotten ones are swept before a new one is added.
const SWEEP_ABOVE: usize = 100_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Account { tenant: String, email: String },
    Address(IpAddr),
}

impl Key {
    fn policy(&self) -> (u32, Duration) {
        match self {
            Key::Account { .. } => (ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT),
            Key::Address(_) => (ADDRESS_FREE_FAILURES, ADDRESS_MAX_WAIT),
        }
    }
}

struct Failures {
    count: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Default)]
pub struct LoginThrottle {
    keys: Mutex<HashMap<Key, Failures>>,
}

impl LoginThrottle {
    fn keys_for(tenant: &str, email: &str, address: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![Key::Account {
            tenant: tenant.trim().to_lowercase(),
            email: email.trim().to_lowercase(),
        }];
        keys.extend(address.map(Key::Address));
        keys
    }

    /// `Err(wait)` while the account or the address must wait before trying again.
    pub fn check(
        &self,
        tenant: &str,
        email: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let wait = Self::keys_for(tenant, email, address)
            .iter()
            .filter_map(|key| keys.get(key)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Counts a wrong password; past the free failures, each doubles the wait.
    pub fn failed(&self, tenant: &str, email: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() > SWEEP_ABOVE {
            keys.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        for key in Self::keys_for(tenant, email, address) {
            let (free, max_wait) = key.policy();
            let failures = keys.entry(key).or_insert(Failures {
                count: 0,
                last: now,
                blocked_until: None,
            });
            if now.duration_since(failures.last) >= FORGET_AFTER {
                failures.count = 0;
            }
            failures.count = failures.count.saturating_add(1);
            failures.last = now;
            if failures.count >= free {
                let doublings = (failures.count - free).min(20);
                let wait = Duration::from_secs(1u64 << doublings).min(max_wait);
                failures.blocked_until = Some(now + wait);
            }
        }
    }

    /// A successful sign-in clears the account's failures (the address keeps its own).
    pub fn succeeded(&self, tenant: &str, email: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys_for(tenant, email, None) {
            keys.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_begin_after_the_free_failures_and_double() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..ACCOUNT_FREE_FAILURES - 1 {
            throttle.failed("t", "a@x", Some(ip));
            assert!(throttle.check("t", "a@x", Some(ip)).is_ok());
        }
        throttle.failed("t", "A@X ", Some(ip));
        let first = throttle.check("t", "a@x", None).unwrap_err();
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(500));
        throttle.failed("t", "a@x", Some(ip));
        let second = throttle.check("t", "a@x", None).unwrap_err();
        assert!(second > Duration::from_secs(1));
        // Another account from the same address is not held back yet.
        assert!(throttle.check("t", "b@x", Some(ip)).is_ok());
        throttle.succeeded("t", "a@x");
        assert!(throttle.check("t", "a@x", None).is_ok());
    }

    #[test]
    fn an_account_never_waits_longer_than_its_cap() {
        let throttle = LoginThrottle::default();
        for _ in 0..200 {
            throttle.failed("t", "victim@x", None);
        }
        assert!(throttle.check("t", "victim@x", None).unwrap_err() <= ACCOUNT_MAX_WAIT);
    }
}
