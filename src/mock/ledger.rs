//! The activity ledger: events recorded by the other handlers, read back by
//! `GET /v1/activity` and `GET /v1/activity/{REFERENCE}`. Each caller sees
//! its own organization's events only.

use serde_json::{Value, json};

use super::answer::{Answers, Context};
use super::call::{ApiError, Call, Handled, Outcome};
use super::handlers::gone;
use super::state::{Event, Link, State};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// An event as a handler describes it; the ledger adds id, time and trace.
pub(crate) struct NewEvent {
    /// A type from the public registry.
    pub kind: &'static str,
    /// `(subject type, subject id)`.
    pub subject: (&'static str, String),
    pub operation: &'static str,
    pub summary: String,
    pub status: &'static str,
    pub links: Value,
    /// The rendered `links` (the version's `links` template of `kind`).
    /// Creative operations report what they cost; payments do not.
    pub estimated_usd: Option<f64>,
}

/// Appends `event` for the caller's organization; returns its id.
pub(crate) fn record(state: &mut State, call: &Call, event: NewEvent) -> String {
    let number = state.next_event();
    let clock = state.tick();
    let links = match event.links {
        Value::Object(links) => links
            .into_iter()
            .map(|(name, value)| (state.name(&name), link(value)))
            .collect(),
        _ => Box::default(),
    };
    let id = State::event_id(number);
    state.events.insert(
        &id,
        Event {
            number,
            organization_id: call.organization().into(),
            kind: event.kind,
            subject: (event.subject.0, event.subject.1.into()),
            operation: event.operation,
            summary: event.summary.into(),
            status: event.status,
            links,
            trace_id: call.trace_id.as_str().into(),
            clock,
            estimated_usd: event.estimated_usd,
        },
    );
    id
}

fn link(value: Value) -> Link {
    match value {
        Value::Null => Link::Null,
        Value::String(id) => Link::Id(id.into()),
        Value::Array(items) if items.iter().all(Value::is_string) => Link::Ids(
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(id) => Some(id.into_boxed_str()),
                    _ => None,
                })
                .collect(),
        ),
        other => Link::Other(other.to_string().into()),
    }
}

/// The event in its public JSON shape (the `event` fragment).
fn render(answers: &Answers, event: &Event) -> Value {
    let links: serde_json::Map<String, Value> = event
        .links
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Link::Null => Value::Null,
                Link::Id(id) => json!(id),
                Link::Ids(ids) => json!(ids),
                Link::Other(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            };
            (name.to_string(), value)
        })
        .collect();
    let mut context = Context::new()
        .set("event.id", State::event_id(event.number))
        .set("event.type", event.kind)
        .set("event.occurred_at", State::time(event.clock))
        .set("event.summary", &*event.summary)
        .set("event.operation", event.operation)
        .set("event.subject_type", event.subject.0)
        .set("event.subject_id", &*event.subject.1)
        .set("event.links", links)
        .set("event.status", event.status)
        .set("event.trace_id", &*event.trace_id);
    if let Some(usd) = event.estimated_usd {
        context.put("event.estimated_usd", usd);
    }
    answers.fragment("event", &context)
}

/// `GET /v1/activity?limit=N&subject=REF`: newest first.
pub(crate) fn activity_list(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "listActivity";
    let answers = &state.version.answers;
    let reads = answers.reads(OPERATION);
    let (limit_name, subject_name) = (reads.field("page.limit"), reads.field("page.subject"));
    let mut limit = DEFAULT_LIMIT;
    let mut subject = None;
    for (key, value) in call.req.query_pairs() {
        if key == limit_name {
            limit = page_size(limit_name, &value)?;
        } else if key == subject_name && !value.is_empty() {
            subject = Some(value.into_owned());
        } else if key == subject_name {
            return Err(ApiError::invalid(format!(
                "query parameter `{subject_name}` must not be empty"
            )));
        } else {
            return Err(ApiError::invalid(format!(
                "unknown query parameter `{key}` (expected: {limit_name}, {subject_name})"
            )));
        }
    }
    let events: Vec<Value> = visible(state, call)
        .filter(|e| subject.as_deref().is_none_or(|s| related(e, s)))
        .take(limit)
        .map(|e| render(answers, e))
        .collect();
    let context = Context::new().set("events", events);
    Ok(Outcome::Data(answers.operation(OPERATION, &context)))
}

/// `limit` as a page size. The docs name no upper bound, so a larger one
/// is capped, not refused: a server may return fewer events than asked.
fn page_size(name: &str, value: &str) -> Result<usize, ApiError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n.min(MAX_LIMIT)),
        // Too many digits for a usize is still a whole number above the cap.
        Err(_) if digits => Ok(MAX_LIMIT),
        _ => Err(ApiError::invalid(format!(
            "query parameter `{name}` must be a whole number of at least 1, got `{value}`"
        ))),
    }
}

/// `GET /v1/activity/{REFERENCE}`: one event by id, or every event related
/// to a job, asset, usage, feedback or trace reference.
pub(crate) fn activity_show(state: &mut State, call: &Call) -> Handled {
    let reference = call.path_id();
    let answers = &state.version.answers;
    let events: Vec<Value> = visible(state, call)
        .filter(|e| related(e, &reference))
        .map(|e| render(answers, e))
        .collect();
    if events.is_empty() {
        let missing = if state.events.evicted_any() {
            // Whether a forgotten event named it is not known any more.
            ApiError::not_found(format!(
                "no activity for reference `{reference}` among the {} most recent events this \
                 mock retains (`conform mock --retain`)",
                state.events.cap()
            ))
        } else {
            ApiError::not_found(format!("no activity for reference `{reference}`"))
        };
        return Err(gone(&state.events, "activity event", &reference, missing));
    }
    let context = Context::new()
        .set("reference.type", reference_type(&reference))
        .set("reference.id", reference)
        .set("events", events);
    Ok(Outcome::Data(
        answers.operation("getActivityReference", &context),
    ))
}

/// The caller's events, newest first.
fn visible<'s>(state: &'s State, call: &Call) -> impl Iterator<Item = &'s Event> {
    let organization = call.organization().to_string();
    state
        .events
        .values()
        .rev()
        .filter(move |e| *e.organization_id == *organization)
}

/// Whether `reference` names the event, its subject, its trace or one of
/// its links.
fn related(event: &Event, reference: &str) -> bool {
    State::event_id(event.number) == reference
        || *event.subject.1 == *reference
        || *event.trace_id == *reference
        || event.links.iter().any(|(_, value)| match value {
            Link::Id(id) => **id == *reference,
            Link::Ids(ids) => ids.iter().any(|id| **id == *reference),
            Link::Null | Link::Other(_) => false,
        })
}

fn reference_type(reference: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("evt_", "event"),
        ("job_", "job"),
        ("image_", "asset"),
        ("usage_", "usage"),
        ("trace_", "trace"),
        ("payatt_", "payment"),
        ("credit_event_", "credit"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| reference.starts_with(prefix))
        .map_or("reference", |(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_a_page_size_capped_not_refused() {
        let size = |v: &str| page_size("limit", v).map_err(|e| e.code);
        assert_eq!(size("1"), Ok(1));
        assert_eq!(size("100"), Ok(MAX_LIMIT));
        assert_eq!(size("101"), Ok(MAX_LIMIT));
        assert_eq!(size("99999999999999999999999"), Ok(MAX_LIMIT));
        assert_eq!(size("0"), Err("INVALID_REQUEST"));
        assert_eq!(size("-3"), Err("INVALID_REQUEST"));
        assert_eq!(size("ten"), Err("INVALID_REQUEST"));
        assert_eq!(size(""), Err("INVALID_REQUEST"));
    }
}
