//! `POST /v1/cli`: public CLI commands over JSON argv. The mock serves the
//! read-only ones by running the same handler as their own endpoint, and
//! answers with that command's envelope.

use std::cell::Cell;

use serde_json::Value;

use super::handlers::{self, ApiError, Call, Handled, json_object, reject_unknown};
use super::state::State;
use super::{creative, ledger};

type Handler = fn(&mut State, &Call) -> Handled;

/// A command the mock runs over argv: the handler and the request it is
/// given, as if the endpoint had been called directly.
struct Command {
    name: &'static str,
    handler: Handler,
    path: String,
    query: Vec<(String, String)>,
}

pub(crate) fn cli(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    reject_unknown(&body, &["argv"])?;
    let argv = match body.get("argv") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid("field `argv` must hold strings only"))?,
        Some(_) => {
            return Err(ApiError::invalid(
                "field `argv` must be a non-empty array of strings",
            ));
        }
        None => return Err(ApiError::invalid("missing required field `argv`")),
    };
    let command = parse(&argv)?;
    call.command.set(Some(command.name));

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
/// to a command; anything else is an invalid argument, CLI exit 2 style.
fn parse(argv: &[String]) -> Result<Command, ApiError> {
    let words: Vec<&str> = argv
        .iter()
        .map(String::as_str)
        .skip_while(|w| *w == "image-skill")
        .filter(|w| *w != "--json")
        .collect();
    let (positional, flags) = split_flags(&words)?;
    let plain = |name: &'static str, handler: Handler, path: &str| Command {
        name,
        handler,
        path: path.to_string(),
        query: Vec::new(),
    };
    let expect_flags = |allowed: &[&str]| -> Result<(), ApiError> {
        match flags.iter().find(|(f, _)| !allowed.contains(f)) {
            Some((flag, _)) => Err(ApiError::invalid(format!("unknown flag `--{flag}`"))),
            None => Ok(()),
        }
    };
    let command = match positional.as_slice() {
        ["whoami"] => plain("whoami", handlers::whoami, "/v1/whoami"),
        ["usage", "quota"] | ["quota"] => plain("usage quota", handlers::quota, "/v1/quota"),
        ["credits", "methods"] => plain(
            "credits methods",
            handlers::payment_methods,
            "/v1/payment-methods",
        ),
        ["credits", "packs", "list"] => plain(
            "credits packs list",
            handlers::credit_packs,
            "/v1/credit-packs",
        ),
        ["models"] | ["models", "list"] => plain("models list", handlers::models, "/v1/models"),
        ["models", "show", id] => plain("models show", handlers::model, &segment("/v1/models", id)),
        ["capabilities"] | ["capabilities", "list"] => plain(
            "capabilities list",
            handlers::capabilities,
            "/v1/capabilities",
        ),
        ["capabilities", "show", id] => plain(
            "capabilities show",
            capability,
            &segment("/v1/capabilities", id),
        ),
        ["jobs", "show", id] => plain("jobs show", creative::job_show, &segment("/v1/jobs", id)),
        ["assets", "show", id] => plain(
            "assets show",
            creative::asset_show,
            &segment("/v1/assets", id),
        ),
        ["activity", "list"] => {
            expect_flags(&["limit", "subject"])?;
            return Ok(Command {
                name: "activity list",
                handler: ledger::activity_list,
                path: "/v1/activity".to_string(),
                query: flags
                    .iter()
                    .map(|(flag, value)| ((*flag).to_string(), (*value).to_string()))
                    .collect(),
            });
        }
        ["activity", "show", reference] => plain(
            "activity show",
            ledger::activity_show,
            &segment("/v1/activity", reference),
        ),
        _ => {
            return Err(ApiError::invalid(format!(
                "`{}` is not a public command this server runs over /v1/cli",
                words.join(" ")
            ))
            .suggest("image-skill --help".to_string()));
        }
    };
    expect_flags(&[])?;
    Ok(command)
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
    // Everything but RFC 3986's unreserved characters is escaped.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    format!(
        "{base}/{}",
        percent_encoding::utf8_percent_encode(id, UNRESERVED)
    )
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
        .map(|m| handlers::Outcome::Data(m.capability_json()))
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

    #[test]
    fn argv_maps_to_commands() {
        let name = |text: &str| parse(&words(text)).map(|c| c.name).map_err(|e| e.code);
        assert_eq!(name("whoami --json"), Ok("whoami"));
        assert_eq!(name("image-skill usage quota --json"), Ok("usage quota"));
        assert_eq!(name("quota"), Ok("usage quota"));
        assert_eq!(
            name("models show xai.grok-imagine-image"),
            Ok("models show")
        );
        assert_eq!(name("activity list --limit 5 --json"), Ok("activity list"));
        assert_eq!(name("jobs list"), Err("INVALID_REQUEST"));
        assert_eq!(name("whoami --verbose yes"), Err("INVALID_REQUEST"));
        assert_eq!(name("activity list --limit"), Err("INVALID_REQUEST"));
    }

    #[test]
    fn ids_become_one_encoded_segment() {
        assert_eq!(segment("/v1/jobs", "job_000001"), "/v1/jobs/job_000001");
        assert_eq!(segment("/v1/jobs", "a/b"), "/v1/jobs/a%2Fb");
    }
}
