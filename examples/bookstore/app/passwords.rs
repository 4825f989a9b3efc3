//! Argon2id password hashing, off the async runtime (a hash is tens of milliseconds of CPU).

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::error::ApiError;

/// Hashes new passwords and checks logins.
#[derive(Clone)]
pub(crate) struct Passwords {
    params: Params,
    /// A hash of no one's password, checked when the email is unknown so a login takes as long
    /// whether or not the account exists.
    decoy: Arc<str>,
}

impl Passwords {
    pub(crate) async fn new(params: Params) -> Result<Self, ApiError> {
        let hasher = Self {
            params,
            decoy: Arc::from(""),
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
        tokio::task::spawn_blocking(move || argon2.hash_password(password.as_bytes()))
            .await
            .map_err(ApiError::internal)?
            .map(|hash| hash.to_string())
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
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default().verify_password(password.as_bytes(), hash.as_str())
        })
        .await
        .map_err(ApiError::internal)?;
        match matches {
            Ok(()) => Ok(known),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(err) => Err(ApiError::internal(err)),
        }
    }
}
