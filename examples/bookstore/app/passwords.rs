//! Argon2id password hashing, off the async runtime (a hash is tens of milliseconds of CPU).

use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use super::error::ApiError;

/// Hashes new passwords and checks logins.
#[derive(Clone)]
pub(crate) struct Passwords {
    params: Params,
    /// A hash of no one's password, checked when the email is unknown so a login takes as long
    /// whether or not the account exists.
    decoy: Arc<str>,
    /// Where hashes run: one thread per core. A hash holds its memory cost (19 MiB by default)
    /// and the allocator keeps it per thread, so on tokio's blocking pool (up to 512 threads)
    /// 48 concurrent failed logins held 1.1 GiB. Requests beyond the cores wait their turn.
    workers: Workers,
}

impl Passwords {
    pub(crate) async fn new(params: Params) -> Result<Self, ApiError> {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let hasher = Self {
            params,
            decoy: Arc::from(""),
            workers: Workers::spawn(cores)?,
        };
        let decoy = hasher.hash("not anyone's password".to_owned()).await?;
        Ok(Self {
            decoy: decoy.into(),
            ..hasher
        })
    }

    /// The PHC string (`$argon2id$v=19$...`) of `password`, with a random salt.
    pub(crate) async fn hash(&self, password: String) -> Result<String, ApiError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.workers
            .run(move || {
                argon2
                    .hash_password(password.as_bytes())
                    .map(|h| h.to_string())
            })
            .await?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `hash` (the stored PHC string, whose own parameters apply);
    /// with no hash (unknown account) the decoy is checked and the answer is `false`.
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.to_string());
        let matches = self
            .workers
            .run(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()))
            .await?;
        match matches {
            Ok(()) => Ok(known),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(err) => Err(ApiError::internal(err)),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs in turn.
#[derive(Clone)]
struct Workers(mpsc::Sender<Job>);

impl Workers {
    fn spawn(threads: usize) -> Result<Self, ApiError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // Ends when every `Workers` is dropped (the channel closes).
                    while let Some(job) = queue.lock().ok().and_then(|queue| queue.recv().ok()) {
                        // A panicking job drops its answer channel (an internal error for that
                        // request only) and leaves the thread serving.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .map_err(ApiError::internal)?;
        }
        Ok(Self(jobs))
    }

    /// Runs `work` on the first free worker.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.0
            .send(job)
            .map_err(|_| ApiError::internal("the password workers stopped"))?;
        answered.await.map_err(ApiError::internal)
    }
}
