//! What users and teachers share: the register and login bodies, and their validation.

use serde::Deserialize;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::error::ApiError;

const MAX_NAME_CHARS: usize = 100;
/// RFC 5321's limit on a forward path.
const MAX_EMAIL_BYTES: usize = 254;
const MIN_PASSWORD_CHARS: usize = 8;
/// Argon2 takes any length, but hashing megabytes on request is a gift to an attacker.
const MAX_PASSWORD_BYTES: usize = 1024;

/// `{"name", "email", "password"}`, the body of `POST /users` and `POST /teachers`.
#[derive(Deserialize)]
pub(crate) struct Registration {
    name: String,
    email: String,
    password: String,
}

/// A registration that passed validation: name trimmed, email trimmed and lowercased.
pub(crate) struct NewAccount {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) password: String,
}

impl Registration {
    pub(crate) fn validate(self) -> Result<NewAccount, ApiError> {
        Ok(NewAccount {
            name: valid_name(&self.name)?,
            email: valid_email(&self.email)?,
            password: valid_password(self.password)?,
        })
    }
}

/// `{"email", "password"}`, the body of `POST /users/login` and `POST /teachers/login`.
#[derive(Deserialize)]
pub(crate) struct Login {
    email: String,
    pub(crate) password: String,
}

impl Login {
    /// The email as stored, 400 if it hides characters. No other validation: a malformed email
    /// is just a wrong one (401).
    pub(crate) fn email(&self) -> Result<String, ApiError> {
        visible_email(&self.email)
    }
}

/// A name as stored: trimmed, not empty, bounded, no control characters.
pub(crate) fn valid_name(name: &str) -> Result<String, ApiError> {
    super::text::required("name", name, MAX_NAME_CHARS)
}

/// Trimmed and lowercased: how emails are stored and compared.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// [`normalize_email`], refusing an email with control characters (Cc) or invisible formatting
/// ones (Cf: zero-width spaces and joiners, byte order marks, bidi overrides), which make two
/// emails that look the same different accounts, or forge what a log or an admin page shows.
fn visible_email(email: &str) -> Result<String, ApiError> {
    let email = normalize_email(email);
    let hidden = email.chars().any(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control | GeneralCategory::Format
        )
    });
    if hidden {
        return Err(ApiError::invalid_field(
            "email",
            "must not contain control or invisible formatting characters",
        ));
    }
    Ok(email)
}

fn valid_email(email: &str) -> Result<String, ApiError> {
    let email = visible_email(email)?;
    let shape_ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.contains(char::is_whitespace);
    if !shape_ok {
        return Err(ApiError::invalid_field(
            "email",
            "must be an address like name@example.com",
        ));
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ApiError::invalid_field(
            "email",
            &format!("must be at most {MAX_EMAIL_BYTES} bytes"),
        ));
    }
    Ok(email)
}

fn valid_password(password: String) -> Result<String, ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid_field(
            "password",
            &format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid_field(
            "password",
            &format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(password)
}
