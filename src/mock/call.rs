//! What a handler is given and what it returns: the request as a [`Call`],
//! and an [`Outcome`] or an [`ApiError`]. Shared by the handlers, the
//! ledger, the creative surface and `/v1/cli`, so none imports another for
//! these types.

use std::cell::Cell;

use serde_json::Value;

use super::state::Agent;
use super::wire::Request;

pub(crate) enum Outcome {
    Data(Value),
    Redirect(String),
}

/// One request as a handler sees it.
pub(crate) struct Call<'r> {
    pub req: &'r Request,
    /// Who the bearer token stands for; `None` on public routes.
    pub caller: Option<Agent>,
    pub trace_id: String,
    /// The command the envelope names, when it is not the route's own:
    /// `/v1/cli` answers as the command it ran.
    pub command: Cell<Option<String>>,
}

impl Call<'_> {
    /// The caller's organization; public routes act for nobody.
    pub(crate) fn organization(&self) -> &str {
        self.caller
            .as_ref()
            .map_or("", |agent| agent.organization_id.as_str())
    }

    /// The last path segment, percent-decoded: the `{ID}` of `/v1/x/{ID}`.
    pub(crate) fn path_id(&self) -> String {
        let path = &self.req.path;
        super::codec::percent_decode(path.rsplit('/').next().unwrap_or_default())
    }
}

#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub suggested_command: Option<String>,
    pub required_flag: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            suggested_command: None,
            required_flag: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_REQUEST", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "NOT_FOUND", message)
    }

    /// A record this mock made and has since forgotten (`conform mock
    /// --retain`): 410 under conform's own code, so it is never mistaken
    /// for one that did not exist (404) or answered from other data.
    pub(crate) fn evicted(what: &str, id: &str, cap: usize) -> ApiError {
        ApiError::new(
            410,
            "RECORD_EVICTED",
            format!(
                "{what} `{id}` is no longer retained: this mock keeps the most recent {cap} \
                 records of each kind (`conform mock --retain`)"
            ),
        )
    }

    pub(crate) fn suggest(mut self, command: String) -> ApiError {
        self.suggested_command = Some(command);
        self
    }

    pub(crate) fn require_flag(mut self, flag: &'static str) -> ApiError {
        self.required_flag = Some(flag);
        self
    }
}

pub(crate) type Handled = Result<Outcome, ApiError>;
