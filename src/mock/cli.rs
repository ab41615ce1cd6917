//! `runCliCommand`: public CLI commands over JSON argv. Which commands
//! exist, the operation each runs and that operation's path and query
//! parameters are the version's API model (`api.json` `commands` and
//! `endpoints`); the mock serves the read-only ones (a `GET` operation) by
//! running the same handler as their own endpoint, and answers with that
//! command's envelope.

use std::cell::Cell;

use serde_json::Value;

use super::call::{ApiError, Call, Handled, Outcome};
use super::handlers::json_object;
use super::state::State;
use crate::contract::api::{ApiModel, CliCommand, Endpoint, Kind, Location};

/// The operation this module serves.
const OPERATION: &str = "runCliCommand";

type Handler = fn(&mut State, &Call) -> Handled;

/// A command the mock runs over argv: the handler and the request it is
/// given, as if the endpoint had been called directly.
struct Command {
    /// The command's argv in the model, also the envelope's `command`.
    name: String,
    handler: Handler,
    path: String,
    query: Vec<(String, String)>,
}

pub(crate) fn cli(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    let api = &state.version.api;
    super::request::check_fields(api, OPERATION, &body, &[])?;
    // The body's one list of strings (`argv`), by the model's kind.
    let field = super::request::field_of_kind(api, OPERATION, &Kind::StringArray)
        .ok_or_else(|| ApiError::invalid("this version's API model gives argv no field"))?;
    let argv = match body.get(field) {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid(format!("field `{field}` must hold strings only")))?,
        _ => {
            return Err(ApiError::invalid(format!(
                "field `{field}` must be a non-empty array of strings"
            )));
        }
    };
    let command = parse(&state.version.api, &argv)?;
    call.command.set(Some(command.name.clone()));

    let request = call.req.as_get(command.path, &command.query);
    let inner = Call {
        req: &request,
        caller: call.caller.clone(),
        trace_id: call.trace_id.clone(),
        command: Cell::new(None),
    };
    (command.handler)(state, &inner)
}

/// Maps argv (with or without a leading `image-skill`, `--json` anywhere)
/// to a command of the model; anything else is an invalid argument, CLI
/// exit 2 style.
fn parse(api: &ApiModel, argv: &[String]) -> Result<Command, ApiError> {
    let words: Vec<&str> = argv
        .iter()
        .map(String::as_str)
        .skip_while(|w| *w == "image-skill")
        .filter(|w| *w != "--json")
        .collect();
    let not_public = || {
        ApiError::invalid(format!(
            "`{}` is not a public command this server runs over argv",
            words.join(" ")
        ))
        .suggest("image-skill --help".to_string())
    };
    let (positional, flags) = split_flags(&words)?;
    let (command, ids) = find(api, &positional).ok_or_else(not_public)?;
    let served = served(api, command).ok_or_else(not_public)?;
    let (handler, endpoint, path) = match served {
        Served::Operation(endpoint, handler) => {
            (handler, Some(endpoint), fill(&endpoint.path, ids)?)
        }
        Served::Sub(list, handler) => match ids {
            [id] => (handler, None, segment(&list.path, id)),
            _ => return Err(not_public()),
        },
    };
    // Flags are the operation's query parameters (`--payment-attempt-id`
    // is `payment_attempt_id`); nothing else is accepted.
    let query_params: Vec<&str> = endpoint
        .map(|e| {
            e.params
                .iter()
                .filter(|p| p.location == Location::Query)
                .map(|p| p.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut query = Vec::new();
    for (flag, value) in flags {
        let name = flag.replace('-', "_");
        if !query_params.contains(&name.as_str()) {
            return Err(ApiError::invalid(format!("unknown flag `--{flag}`")));
        }
        query.push((name, value.to_string()));
    }
    Ok(Command {
        name: command.argv.clone(),
        handler,
        path,
        query,
    })
}

/// The model's command for `positional`: the longest argv that starts it,
/// the words after it being the operation's path parameters. A bare group
/// (`models`) runs its `list`; a bare word that ends exactly one command
/// (`quota`) runs that one.
fn find<'m, 'w>(
    api: &'m ApiModel,
    positional: &'w [&'w str],
) -> Option<(&'m CliCommand, &'w [&'w str])> {
    let by_argv = |argv: &str| api.commands.iter().find(|c| c.argv == argv);
    let (command, rest) = (1..=positional.len()).rev().find_map(|n| {
        let command = by_argv(&positional[..n].join(" "))?;
        Some((command, &positional[n..]))
    })?;
    if command.operation.is_some() || sub_handler(command).is_some() {
        return Some((command, rest));
    }
    if let Some(list) = by_argv(&format!("{} list", command.argv)) {
        return Some((list, rest));
    }
    let suffix = format!(" {}", command.argv);
    let mut ending = api.commands.iter().filter(|c| c.argv.ends_with(&suffix));
    match (ending.next(), ending.next()) {
        (Some(only), None) => Some((only, rest)),
        _ => Some((command, rest)),
    }
}

enum Served<'m> {
    /// A read-only operation of the model, with its handler.
    Operation(&'m Endpoint, Handler),
    /// A command without an endpoint of its own, answered from the list
    /// operation of its group (`capabilities show` from `capabilities list`).
    Sub(&'m Endpoint, Handler),
}

/// How the mock serves `command`, if it does: mutations are not run over
/// argv, and neither is anything the mock has no code for.
fn served<'m>(api: &'m ApiModel, command: &CliCommand) -> Option<Served<'m>> {
    if let Some(id) = &command.operation {
        let endpoint = api.endpoint(id)?;
        if !endpoint.method.eq_ignore_ascii_case("GET") {
            return None;
        }
        return super::handler(id).map(|h| Served::Operation(endpoint, h));
    }
    let (handler, list_operation) = sub_handler(command)?;
    Some(Served::Sub(api.endpoint(list_operation)?, handler))
}

/// The commands the docs list without an endpoint that the mock still
/// answers, keyed by argv, with the list operation their id lives under.
fn sub_handler(command: &CliCommand) -> Option<(Handler, &'static str)> {
    match command.argv.as_str() {
        "capabilities show" => Some((capability, "listCapabilities")),
        _ => None,
    }
}

/// The path template with each `{param}` replaced by the next id, each
/// one encoded as one segment; the ids must fill the template exactly.
fn fill(template: &str, ids: &[&str]) -> Result<String, ApiError> {
    let mut ids = ids.iter();
    let mut out = String::new();
    for part in template.split('/').skip(1) {
        out.push('/');
        if part.starts_with('{') && part.ends_with('}') {
            let id = ids.next().ok_or_else(|| {
                ApiError::invalid(format!(
                    "missing argument {}",
                    part.trim_matches(['{', '}'])
                ))
            })?;
            out.push_str(&encode(id));
        } else {
            out.push_str(part);
        }
    }
    match ids.next() {
        Some(extra) => Err(ApiError::invalid(format!("unexpected argument `{extra}`"))),
        None => Ok(out),
    }
}

type Flags<'a> = Vec<(&'a str, &'a str)>;

/// `--name value` pairs apart from positional words.
fn split_flags<'a>(words: &[&'a str]) -> Result<(Vec<&'a str>, Flags<'a>), ApiError> {
    let mut positional = Vec::new();
    let mut flags = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        match word.strip_prefix("--") {
            Some(name) => {
                let value = iter
                    .next()
                    .ok_or_else(|| ApiError::invalid(format!("flag `--{name}` needs a value")))?;
                flags.push((name, *value));
            }
            None => positional.push(*word),
        }
    }
    Ok((positional, flags))
}

/// `base/<id>` with the id percent-encoded as one path segment.
fn segment(base: &str, id: &str) -> String {
    format!("{base}/{}", encode(id))
}

fn encode(id: &str) -> String {
    // Everything but RFC 3986's unreserved characters is escaped.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(id, UNRESERVED).to_string()
}

/// `capabilities show` has no endpoint of its own; only argv reaches it.
fn capability(state: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    state
        .version
        .seed
        .catalog
        .models
        .iter()
        .find(|m| m.capability_id == id)
        .map(|m| Outcome::Data(m.capability_json(&state.version.answers)))
        .ok_or_else(|| {
            ApiError::not_found(format!("no capability `{id}`"))
                .suggest("image-skill capabilities list --json".to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    fn model(version: &str) -> ApiModel {
        ApiModel::load(crate::contract::Source::Embedded, version).expect("embedded model")
    }

    #[test]
    fn argv_maps_to_the_models_commands() {
        let api = model("0.1.70");
        let parsed = |text: &str| parse(&api, &words(text)).map_err(|e| e.code);
        let name = |text: &str| parsed(text).map(|c| c.name);
        assert_eq!(name("whoami --json").as_deref(), Ok("whoami"));
        assert_eq!(
            name("image-skill usage quota --json").as_deref(),
            Ok("usage quota")
        );
        assert_eq!(name("quota").as_deref(), Ok("usage quota"));
        assert_eq!(name("models").as_deref(), Ok("models list"));
        assert_eq!(
            name("models show xai.grok-imagine-image").as_deref(),
            Ok("models show")
        );
        assert_eq!(
            name("activity list --limit 5 --json").as_deref(),
            Ok("activity list")
        );
        assert_eq!(name("jobs list"), Err("INVALID_REQUEST"));
        assert_eq!(name("credits quote --credits 5"), Err("INVALID_REQUEST"));
        assert_eq!(name("whoami --verbose yes"), Err("INVALID_REQUEST"));
        assert_eq!(name("activity list --limit"), Err("INVALID_REQUEST"));
        assert_eq!(name("models show"), Err("INVALID_REQUEST"));
        assert_eq!(name("models show a b"), Err("INVALID_REQUEST"));
        let status = parsed("credits status --payment-attempt-id pa_1").expect("a command");
        assert_eq!(
            status.query,
            [("payment_attempt_id".to_string(), "pa_1".to_string())]
        );
        let show = parsed("capabilities show cap/1").expect("a command");
        assert!(show.path.ends_with("/cap%2F1"), "{}", show.path);
    }

    #[test]
    fn a_command_the_version_lacks_is_refused() {
        // `quota` alone is a command from 0.1.36 on.
        let old = model("0.1.9");
        assert_eq!(
            parse(&old, &words("quota"))
                .map(|c| c.name)
                .map_err(|e| e.code),
            Err("INVALID_REQUEST")
        );
    }

    #[test]
    fn ids_become_one_encoded_segment() {
        assert_eq!(
            fill("/a/{id}/b", &["x/y"]).map_err(|e| e.code),
            Ok("/a/x%2Fy/b".to_string())
        );
        assert_eq!(segment("/a", "job_000001"), "/a/job_000001");
    }
}
