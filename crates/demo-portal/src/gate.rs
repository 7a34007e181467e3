//! What every request passes on its way to a handler: the log of refusals (every 4xx of the FHIR
//! side, the token endpoint and registration, for tests), the rate limit, and athena's practice
//! parameter.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::Portal;
use crate::fhir::outcome;

/// FHIR paths open without the practice parameter (discovery).
const DISCOVERY: &[&str] = &["/fhir/metadata", "/fhir/.well-known/smart-configuration"];

pub async fn gate(State(portal): State<Arc<Portal>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let fhir = path == "/fhir" || path.starts_with("/fhir/");
    let response = if fhir {
        fhir_gate(&portal, &path, request, next).await
    } else {
        next.run(request).await
    };
    let status = response.status();
    if status.is_client_error() && (fhir || path == "/token" || path == "/register") {
        crate::lock(&portal.refused).push((status.as_u16(), path));
    }
    response
}

async fn fhir_gate(portal: &Portal, path: &str, request: Request, next: Next) -> Response {
    let quota = match portal.rate_limit {
        None => None,
        Some((limit, length)) => {
            let taken = crate::lock(&portal.window).take(limit, length, Instant::now());
            match taken {
                Ok((remaining, reset)) => Some((limit, remaining, reset)),
                Err(retry_after) => {
                    portal.rate_limited.fetch_add(1, Ordering::SeqCst);
                    let mut response = outcome(
                        StatusCode::TOO_MANY_REQUESTS,
                        "throttled",
                        "too many requests; try again after Retry-After seconds",
                    );
                    let headers = response.headers_mut();
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                    rate_headers(&mut response, limit, 0, retry_after);
                    return response;
                }
            }
        }
    };
    if let Some(practice) = portal.options.personality.practice()
        && !DISCOVERY.contains(&path)
    {
        let given: Vec<String> = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
            .map(|q| q.0)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k == "ah-practice")
            .map(|(_, v)| v)
            .collect();
        let refusal = if given.is_empty() {
            Some((StatusCode::BAD_REQUEST, "ah-practice is required"))
        } else if given.iter().any(|v| *v != practice) {
            Some((StatusCode::FORBIDDEN, "this token is not for that practice"))
        } else {
            None
        };
        if let Some((status, text)) = refusal {
            let mut response = outcome(status, "required", text);
            if let Some((limit, remaining, reset)) = quota {
                rate_headers(&mut response, limit, remaining, reset);
            }
            return response;
        }
    }
    let mut response = next.run(request).await;
    if let Some((limit, remaining, reset)) = quota {
        rate_headers(&mut response, limit, remaining, reset);
    }
    response
}

fn rate_headers(response: &mut Response, limit: u32, remaining: u32, reset: u64) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", u64::from(limit)),
        ("x-ratelimit-remaining", u64::from(remaining)),
        ("x-ratelimit-reset", reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// A fixed-window request counter.
#[derive(Debug, Default)]
pub struct Window {
    started: Option<Instant>,
    used: u32,
}

impl Window {
    /// Counts one request at `now`: `Ok((remaining, seconds until reset))`, or
    /// `Err(seconds until reset)` when the window's `limit` is spent.
    pub fn take(&mut self, limit: u32, length: Duration, now: Instant) -> Result<(u32, u64), u64> {
        let started = match self.started {
            Some(s) if now.saturating_duration_since(s) < length => s,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        let left = length.saturating_sub(now.saturating_duration_since(started));
        let reset = whole_secs_up(left).max(1);
        if self.used >= limit {
            return Err(reset);
        }
        self.used = self.used.saturating_add(1);
        Ok((limit.saturating_sub(self.used), reset))
    }
}

fn whole_secs_up(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_then_refuses_then_resets() {
        let mut w = Window::default();
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        assert_eq!(w.take(2, minute, t0), Ok((1, 60)));
        assert_eq!(
            w.take(2, minute, t0 + Duration::from_millis(500)),
            Ok((0, 60))
        );
        assert_eq!(w.take(2, minute, t0 + Duration::from_secs(59)), Err(1));
        assert_eq!(w.take(2, minute, t0 + Duration::from_secs(30)), Err(30));
        assert_eq!(w.take(2, minute, t0 + minute), Ok((1, 60)));
        // No limit at all, and a zero-length window: no panic, no overflow.
        assert_eq!(w.take(0, minute, t0 + minute), Err(60));
        assert_eq!(w.take(5, Duration::ZERO, t0), Ok((4, 1)));
    }
}
