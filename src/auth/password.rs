//! Argon2id password hashing.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

pub const MIN_LENGTH: usize = 8;
/// Hashing cost grows with input; a cap keeps a request from buying a lot of CPU.
pub const MAX_LENGTH: usize = 256;

/// Checks the password policy; `field` names the input that carried it.
pub fn validate(field: &str, password: &str) -> AppResult<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("password must have at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("password must have at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real check, so a missing user cannot be told apart by timing.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// Runs hashing off the async executor: it takes tens of milliseconds of CPU.
pub async fn hash_blocking(password: String) -> AppResult<String> {
    off_the_executor(move || hash(&password)).await?
}

/// Runs password work (hashing, checking) on the blocking pool, at most one per CPU at a time.
/// Each Argon2 run holds 19 MiB of working memory: a burst of sign-ins waits its turn here
/// instead of multiplying that by the blocking pool's hundreds of threads.
pub async fn off_the_executor<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    let turns = TURNS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new(cpus)
    });
    let _turn = turns.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn password_work_runs_at_most_one_per_cpu_at_a_time() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let work = (0..cpus * 4).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            off_the_executor(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for done in futures_util::future::join_all(work).await {
            done.unwrap_or_else(|e| panic!("{}", e.message()));
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=cpus).contains(&most), "{most} at once on {cpus} CPUs");
    }
}
