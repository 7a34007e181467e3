//! The host's failures as kinds, and the one place they become HTTP answers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What was wrong with a request the host understood as JSON but will not act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Flags,
    UnknownFlag,
    /// `U` and `P` together (the spec forbids it).
    DirectWithPasscode,
    /// `U` needs exactly one file.
    DirectNeedsOneFile,
    /// `P` without a passcode, or a passcode without `P`.
    Passcode,
    /// `L` with `max_uses`: a long-term manifest is polled, so fetches are not uses.
    LongTermWithMaxUses,
    Files,
    Jwe,
    ContentType,
    ExpiresAt,
    MaxUses,
    MaxAttempts,
    Label,
    Recipient,
    EmbeddedLengthMax,
}

impl Invalid {
    pub fn code(self) -> &'static str {
        match self {
            Invalid::Flags => "flags",
            Invalid::UnknownFlag => "unknown_flag",
            Invalid::DirectWithPasscode => "flag_u_with_passcode",
            Invalid::DirectNeedsOneFile => "flag_u_needs_one_file",
            Invalid::Passcode => "passcode",
            Invalid::LongTermWithMaxUses => "flag_l_with_max_uses",
            Invalid::Files => "files",
            Invalid::Jwe => "jwe",
            Invalid::ContentType => "content_type",
            Invalid::ExpiresAt => "expires_at",
            Invalid::MaxUses => "max_uses",
            Invalid::MaxAttempts => "max_attempts",
            Invalid::Label => "label",
            Invalid::Recipient => "recipient",
            Invalid::EmbeddedLengthMax => "embedded_length_max",
        }
    }
}

/// Every way a request can fail. Kinds, not sentences: the answer's body is built from the kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown, revoked, paused, expired, used-up or deleted: the spec's "no longer active".
    #[error("not found")]
    NotFound,
    /// A missing or wrong owner or management token.
    #[error("unauthorized")]
    Unauthorized,
    /// A wrong or missing passcode; `remaining` is the lifetime count left.
    #[error("wrong passcode")]
    Passcode { remaining: i64 },
    #[error("request body too large")]
    TooLarge,
    /// The body is not the JSON expected; described by category and position, never by content.
    #[error("malformed JSON")]
    MalformedJson {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("invalid request: {}", .0.code())]
    Invalid(Invalid),
    /// The link's state does not allow the change (resume a revoked link, ...).
    #[error("conflict")]
    Conflict,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("storage")]
    Storage(#[from] rusqlite::Error),
    #[error("internal")]
    Internal,
}

impl Error {
    pub fn from_json(e: &serde_json::Error) -> Self {
        let category = match e.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        Error::MalformedJson {
            category,
            line: e.line(),
            column: e.column(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Error::NotFound => (StatusCode::NOT_FOUND, json!({"error": "not_found"})),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"})),
            Error::Passcode { remaining } => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "passcode", "remainingAttempts": remaining}),
            ),
            Error::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, json!({"error": "too_large"})),
            Error::MalformedJson {
                category,
                line,
                column,
            } => (
                StatusCode::BAD_REQUEST,
                json!({"error": "malformed_json", "category": category, "line": line, "column": column}),
            ),
            Error::Invalid(why) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid", "field": why.code()}),
            ),
            Error::Conflict => (StatusCode::CONFLICT, json!({"error": "conflict"})),
            Error::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": "rate_limited"}),
            ),
            Error::Storage(e) => {
                eprintln!("ownrecord-share-host: storage error: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal"}),
                )
            }
            Error::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal"}),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        if let Error::RateLimited { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

pub type Result<T> = std::result::Result<T, Error>;
