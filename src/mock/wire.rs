//! The mock's own request and response: what a handler reads and what the
//! server writes. Plain data, so handlers do not depend on the HTTP stack.

use std::borrow::Cow;
use std::time::Duration;

/// One request, body read in full (within [`super::server::MAX_REQUEST_BODY`]).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The path as sent, percent-escapes kept.
    pub path: String,
    pub query: Option<String>,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Request {
    /// `application/x-www-form-urlencoded` pairs of the query, decoded.
    pub(crate) fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
    }

    /// The same request as `GET path?query`, bodiless: how `/v1/cli` runs
    /// a command as its own endpoint.
    pub(crate) fn as_get(&self, path: String, query: &[(String, String)]) -> Request {
        let query = (!query.is_empty()).then(|| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish()
        });
        Request {
            method: "GET".into(),
            path,
            query,
            headers: self.headers.clone(),
            body: Vec::new(),
        }
    }
}

/// One answer: status, body and the few headers the mock sets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub location: Option<String>,
    /// Held back this long before the head is written (faults-slow).
    pub delay: Option<Duration>,
}

impl Response {
    pub(crate) fn new(status: u16) -> Response {
        Response {
            status,
            content_type: None,
            body: Vec::new(),
            location: None,
            delay: None,
        }
    }

    pub(crate) fn body(mut self, body: Vec<u8>, content_type: &'static str) -> Response {
        self.body = body;
        self.content_type = Some(content_type);
        self
    }
}
