//! Text fields as stored: trimmed, bounded, and free of control characters, so both engines
//! answer alike (PostgreSQL refuses a NUL in TEXT, which SQLite would store).

use super::error::ApiError;

/// `value` trimmed; 400 when empty, over `max_chars`, or holding a control character.
pub(crate) fn required(field: &str, value: &str, max_chars: usize) -> Result<String, ApiError> {
    optional(field, value, max_chars, false)?
        .ok_or_else(|| ApiError::invalid_field(field, "must not be empty"))
}

/// `value` trimmed, `None` when empty; 400 when over `max_chars` or holding a control
/// character other than line breaks and tabs where `lines` allows them.
pub(crate) fn optional(
    field: &str,
    value: &str,
    max_chars: usize,
    lines: bool,
) -> Result<Option<String>, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid_field(
            field,
            &format!("must be at most {max_chars} characters"),
        ));
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(value.to_owned()))
}
