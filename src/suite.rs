//! Load-suite stage: JSON text → validated [`Suite`] with locations.
//!
//! A suite is first checked against `schemas/suite.schema.json`, so every
//! format error names the file, the JSON pointer and what was expected; only
//! then is it deserialized (with `deny_unknown_fields` as a second guard).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::check::Registry;
use crate::error::{Error, Result, closest};

/// Variables every scenario has without declaring them.
pub const BUILTIN_VARS: &[&str] = &["run_id", "base_url"];

const SUITE_SCHEMA_PATH: &str = "schemas/suite.schema.json";
/// Where `expect`'s keys are in the suite format.
const EXPECT_PROPERTIES: &str = "/$defs/expect/properties";

#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    /// Where the suite came from, as shown to people (`suites/x.json`).
    pub file: PathBuf,
    pub description: Option<String>,
    pub vars: Vec<(String, String)>,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub pointer: String,
    pub steps: Vec<Step>,
    /// Needs a server that honours conform's test markers (the reference
    /// mock); left out of runs against a live server.
    pub mock_only: bool,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub pointer: String,
    pub action: Action,
    pub expect: Expect,
    pub captures: Vec<(String, String)>,
}

/// What a step does before its checks run.
#[derive(Debug, Clone)]
pub enum Action {
    Http(Request),
    /// Run the client under test with these arguments appended.
    Cli {
        args: Vec<String>,
        auth: Auth,
    },
}

impl Step {
    pub fn is_cli(&self) -> bool {
        matches!(self.action, Action::Cli { .. })
    }
}

impl Scenario {
    /// Scenarios with a cli step need a client under test (`conform client`).
    pub fn needs_client(&self) -> bool {
        self.steps.iter().any(Step::is_cli)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    Token,
    None,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Joined to the base URL.
    Path(String),
    /// Absolute, usually interpolated from a capture.
    Url(String),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: Target,
    pub auth: Auth,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub json: Option<Value>,
}

/// What a negative step expects the server to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rejects {
    /// A missing or bad token: a 4xx, never served (`ignored_auth`).
    Auth,
    /// An invalid body: a 4xx, never accepted (`negative_data_rejection`).
    Data,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvelopeKind {
    Success,
    Error,
    None,
}

#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<u16>,
    pub envelope: Option<EnvelopeKind>,
    pub schema: Option<String>,
    pub body_schema: Option<String>,
    pub equals: Vec<(String, Value)>,
    pub matches: Vec<(String, Regex)>,
    pub error_code: Option<String>,
    pub fragment_preserved: Vec<String>,
    pub redirects_to: Option<String>,
    pub exit_code: Option<i32>,
    pub server_value_preserved: Vec<String>,
    /// Always-on checks this step opts out of.
    pub skip: Vec<String>,
    pub rejects: Option<Rejects>,
    /// Keys of registered (non-built-in) checks and their values.
    pub extra: Vec<(String, Value)>,
}

impl Expect {
    /// The envelope the body must have: explicit, else derived from the status.
    pub fn envelope_kind(&self) -> EnvelopeKind {
        if let Some(kind) = self.envelope {
            return kind;
        }
        match self.status {
            _ if self.error_code.is_some() || self.rejects.is_some() => EnvelopeKind::Error,
            _ if self.exit_code.is_some_and(|c| c != 0) => EnvelopeKind::Error,
            Some(s) if (300..400).contains(&s) => EnvelopeKind::None,
            Some(s) if s >= 400 => EnvelopeKind::Error,
            _ if self.redirects_to.is_some() => EnvelopeKind::None,
            _ => EnvelopeKind::Success,
        }
    }
}

// Raw serde model: mirrors suite.schema.json one to one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(rename = "$schema")]
    _schema: Option<String>,
    suite: String,
    description: Option<String>,
    #[serde(default)]
    vars: Map<String, Value>,
    scenarios: Vec<RawScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    mock_only: bool,
    #[serde(rename = "description")]
    _description: Option<String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    request: Option<RawRequest>,
    cli: Option<Vec<String>>,
    auth: Option<Auth>,
    // Split into built-in keys (RawExpect) and registered checks' keys.
    #[serde(default)]
    expect: Map<String, Value>,
    #[serde(default)]
    captures: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    method: String,
    path: Option<String>,
    url: Option<String>,
    auth: Option<Auth>,
    #[serde(default)]
    query: Map<String, Value>,
    #[serde(default)]
    headers: Map<String, Value>,
    json: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    status: Option<u16>,
    envelope: Option<EnvelopeKind>,
    schema: Option<String>,
    body_schema: Option<String>,
    #[serde(default)]
    equals: Map<String, Value>,
    #[serde(default)]
    matches: Map<String, Value>,
    error_code: Option<String>,
    #[serde(default)]
    fragment_preserved: Vec<String>,
    redirects_to: Option<String>,
    exit_code: Option<i32>,
    #[serde(default)]
    server_value_preserved: Vec<String>,
    #[serde(default)]
    skip: Vec<String>,
    rejects: Option<Rejects>,
}

/// The compiled suite format, built once per run.
pub struct SuiteFormat {
    validator: jsonschema::Validator,
    registry: std::sync::Arc<Registry>,
}

impl SuiteFormat {
    /// The format with conform's built-in checks.
    pub fn new() -> Result<SuiteFormat> {
        SuiteFormat::with_registry(std::sync::Arc::new(Registry::builtin()))
    }

    /// The format with `registry`'s checks: each registered check's schema
    /// fragment becomes one more key of `expect`.
    pub fn with_registry(registry: std::sync::Arc<Registry>) -> Result<SuiteFormat> {
        let text = crate::embedded::SCHEMAS
            .iter()
            .find(|(path, _)| *path == SUITE_SCHEMA_PATH)
            .map(|(_, text)| *text)
            .ok_or_else(|| Error::Schema {
                path: PathBuf::from(SUITE_SCHEMA_PATH),
                pointer: String::new(),
                message: "the suite format schema is not embedded in this build".into(),
            })?;
        let mut schema = Error::parse_json(Path::new(SUITE_SCHEMA_PATH), text)?;
        let properties = schema
            .pointer_mut(EXPECT_PROPERTIES)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Error::Schema {
                path: PathBuf::from(SUITE_SCHEMA_PATH),
                pointer: EXPECT_PROPERTIES.into(),
                message: "the suite format has no expect properties".into(),
            })?;
        for (key, fragment) in registry.extensions() {
            if properties.insert(key.to_string(), fragment).is_some() {
                return Err(Error::Schema {
                    path: PathBuf::from(SUITE_SCHEMA_PATH),
                    pointer: format!("{EXPECT_PROPERTIES}/{}", pointer_key(key)),
                    message: format!("registered check `{key}` reuses a built-in expect key"),
                });
            }
        }
        let validator = jsonschema::validator_for(&schema).map_err(|e| Error::Schema {
            path: PathBuf::from(SUITE_SCHEMA_PATH),
            pointer: e.schema_path().to_string(),
            message: e.to_string(),
        })?;
        Ok(SuiteFormat {
            validator,
            registry,
        })
    }

    /// Parses and validates one suite file's text.
    pub fn parse(&self, file: &Path, text: &str) -> Result<Suite> {
        let value = Error::parse_json(file, text)?;
        self.check_format(file, &value)?;
        let raw: RawSuite = serde_json::from_value(value).map_err(|e| Error::Suite {
            path: file.to_path_buf(),
            pointer: String::new(),
            message: format!("invalid suite: {e}"),
            hint: None,
        })?;
        build_suite(file, raw, &self.registry)
    }

    fn check_format(&self, file: &Path, value: &Value) -> Result<()> {
        // The deepest error is the most specific one; ties keep document order.
        let Some(err) = self
            .validator
            .iter_errors(value)
            .max_by_key(|e| e.instance_path().as_str().matches('/').count())
        else {
            return Ok(());
        };
        let pointer = err.instance_path().to_string();
        let (message, hint) = describe(&err, &pointer, &self.registry);
        Err(Error::Suite {
            path: file.to_path_buf(),
            pointer: display_pointer(&pointer),
            message,
            hint,
        })
    }
}

fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "/ (the top level)".to_string()
    } else {
        pointer.to_string()
    }
}

/// Plain words for a schema violation, plus a "did you mean" where it helps.
fn describe(
    err: &jsonschema::ValidationError<'_>,
    pointer: &str,
    registry: &Registry,
) -> (String, Option<String>) {
    use jsonschema::error::ValidationErrorKind as Kind;
    let found = short_json(err.instance());
    match err.kind() {
        Kind::AdditionalProperties { unexpected } => {
            let object = object_kind(pointer);
            let known = known_keys(object, registry);
            let key = unexpected.first().cloned().unwrap_or_default();
            let hint = closest(&key, &known).map(|k| format!("did you mean `{k}`?"));
            let hint = hint.or_else(|| Some(format!("expected one of: {}", known.join(", "))));
            (format!("unknown {object} key `{key}`"), hint)
        }
        Kind::Required { property } => (
            format!(
                "{} lacks required key {}",
                object_kind(pointer),
                short_json(property).replace('"', "`")
            ),
            None,
        ),
        Kind::Type {
            kind: jsonschema::error::TypeKind::Single(expected),
        } => (
            format!(
                "wrong type: expected {expected}, found {} {found}",
                json_type(err.instance())
            ),
            None,
        ),
        Kind::Type { .. } => (format!("wrong type: {err}"), None),
        Kind::Enum { options } => (
            format!("expected one of {}, found {found}", short_json(options)),
            None,
        ),
        Kind::Pattern { pattern } => (
            format!("{found} does not have the expected form (pattern `{pattern}`)"),
            None,
        ),
        _ => (err.to_string(), None),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// RFC 6901: a key inside a pointer escapes `~` and `/`.
pub fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// Which object of the format a pointer is in, judged by its shape.
fn object_kind(pointer: &str) -> &'static str {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    match parts.as_slice() {
        [] => "suite",
        ["scenarios", _] => "scenario",
        ["scenarios", _, "steps", _] => "step",
        ["scenarios", _, "steps", _, "request"] => "request",
        ["scenarios", _, "steps", _, "expect"] => "expect",
        _ => "object",
    }
}

fn known_keys(object: &str, registry: &Registry) -> Vec<&'static str> {
    match object {
        "suite" => vec!["$schema", "suite", "description", "vars", "scenarios"],
        "scenario" => vec!["name", "description", "mock_only", "steps"],
        "step" => vec!["name", "request", "cli", "auth", "expect", "captures"],
        "request" => vec!["method", "path", "url", "auth", "query", "headers", "json"],
        "expect" => registry.expect_keys(),
        _ => Vec::new(),
    }
}

/// A value the format says is a string; anything else is an error here
/// too, so a suite that skips the schema cannot fail open (a number as a
/// regex matching everything, a capture of the whole body).
fn string_at(at: &At<'_>, pointer: String, value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(at.err(
            pointer,
            format!(
                "wrong type: expected string, found {} {}",
                json_type(&other),
                short_json(&other)
            ),
            None,
        )),
    }
}

/// Builds errors located in one suite file.
struct At<'a>(&'a Path);

impl At<'_> {
    fn err(&self, pointer: String, message: String, hint: Option<String>) -> Error {
        Error::Suite {
            path: self.0.to_path_buf(),
            pointer,
            message,
            hint,
        }
    }

    /// Maps a failed `check_vars` to an error at `pointer`.
    fn undefined(&self, pointer: String) -> impl FnOnce((String, Option<String>)) -> Error + '_ {
        move |(var, hint)| self.err(pointer, format!("undefined variable `${{{var}}}`"), hint)
    }
}

fn build_suite(file: &Path, raw: RawSuite, registry: &Registry) -> Result<Suite> {
    let at = At(file);
    let err =
        |pointer: String, message: String, hint: Option<String>| at.err(pointer, message, hint);
    let vars: Vec<(String, String)> = raw
        .vars
        .into_iter()
        .map(|(k, v)| {
            let value = string_at(&at, format!("/vars/{}", pointer_key(&k)), v)?;
            Ok((k, value))
        })
        .collect::<Result<_>>()?;
    let mut known: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| s.to_string()).collect();
    for (i, (name, value)) in vars.iter().enumerate() {
        check_vars(value, &known).map_err(|(var, hint)| {
            err(
                format!("/vars/{}", pointer_key(name)),
                format!("undefined variable `${{{var}}}`"),
                hint,
            )
        })?;
        let _ = i;
        known.insert(name.clone());
    }

    let mut scenarios = Vec::new();
    let mut names = BTreeSet::new();
    for (si, rs) in raw.scenarios.into_iter().enumerate() {
        let sp = format!("/scenarios/{si}");
        if !names.insert(rs.name.clone()) {
            return Err(err(
                format!("{sp}/name"),
                format!("duplicate scenario name `{}`", rs.name),
                Some("scenario names must be unique within a suite".into()),
            ));
        }
        let mut scope = known.clone();
        let mut steps = Vec::new();
        for (ti, rt) in rs.steps.into_iter().enumerate() {
            let tp = format!("{sp}/steps/{ti}");
            let step = build_step(rt, &tp, &scope, &at, registry)?;
            scope.extend(step.captures.iter().map(|(name, _)| name.clone()));
            steps.push(step);
        }
        scenarios.push(Scenario {
            name: rs.name,
            pointer: sp,
            steps,
            mock_only: rs.mock_only,
        });
    }
    Ok(Suite {
        name: raw.suite,
        file: file.to_path_buf(),
        description: raw.description,
        vars,
        scenarios,
    })
}

fn build_step(
    rt: RawStep,
    tp: &str,
    scope: &BTreeSet<String>,
    at: &At<'_>,
    registry: &Registry,
) -> Result<Step> {
    let err =
        |pointer: String, message: String, hint: Option<String>| at.err(pointer, message, hint);
    let undefined = |pointer: String| at.undefined(pointer);
    let action = match (rt.request, rt.cli, rt.auth) {
        (Some(rq), None, None) => Action::Http(build_request(rq, tp, scope, at)?),
        (None, Some(args), auth) => {
            for (i, arg) in args.iter().enumerate() {
                check_vars(arg, scope).map_err(undefined(format!("{tp}/cli/{i}")))?;
            }
            Action::Cli {
                args,
                auth: auth.unwrap_or(Auth::Token),
            }
        }
        (Some(_), None, Some(_)) => {
            return Err(err(
                format!("{tp}/auth"),
                "step-level `auth` is for cli steps; an HTTP step sets `request.auth`".into(),
                None,
            ));
        }
        (None, None, _) | (Some(_), Some(_), _) => {
            return Err(err(
                tp.to_string(),
                "a step needs exactly one of `request` and `cli`".into(),
                None,
            ));
        }
    };
    let ep = format!("{tp}/expect");
    let extensions = registry.extensions();
    let (extra, builtin): (Map<String, Value>, Map<String, Value>) = rt
        .expect
        .into_iter()
        .partition(|(k, _)| extensions.iter().any(|(key, _)| key == k));
    let ex: RawExpect = serde_json::from_value(Value::Object(builtin))
        .map_err(|e| at.err(ep.clone(), format!("invalid expect: {e}"), None))?;
    let mut equals = Vec::new();
    for (pointer, value) in ex.equals {
        check_value_vars(&value, scope)
            .map_err(undefined(format!("{ep}/equals/{}", pointer_key(&pointer))))?;
        equals.push((pointer, value));
    }
    let mut matches = Vec::new();
    for (pointer, pattern) in ex.matches {
        let place = format!("{ep}/matches/{}", pointer_key(&pointer));
        let pattern = string_at(at, place, pattern)?;
        let pattern = pattern.as_str();
        let re = Regex::new(pattern).map_err(|e| {
            err(
                format!("{ep}/matches/{}", pointer_key(&pointer)),
                format!("invalid regular expression `{pattern}`"),
                Some(regex_reason(&e)),
            )
        })?;
        matches.push((pointer, re));
    }
    if let Some(r) = &ex.redirects_to {
        check_vars(r, scope).map_err(undefined(format!("{ep}/redirects_to")))?;
    }
    let is_cli = matches!(action, Action::Cli { .. });
    let misplaced = if is_cli {
        [
            ("status", ex.status.is_some()),
            ("redirects_to", ex.redirects_to.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(key, _)| (key, "an HTTP step"))
    } else {
        [
            ("exit_code", ex.exit_code.is_some()),
            (
                "server_value_preserved",
                !ex.server_value_preserved.is_empty(),
            ),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(key, _)| (key, "a cli step"))
    };
    if let Some((key, kind)) = misplaced {
        return Err(err(
            format!("{ep}/{key}"),
            format!("`{key}` belongs to {kind}"),
            None,
        ));
    }
    let expect = Expect {
        status: ex.status,
        envelope: ex.envelope,
        schema: ex.schema,
        body_schema: ex.body_schema,
        equals,
        matches,
        error_code: ex.error_code,
        fragment_preserved: ex.fragment_preserved,
        redirects_to: ex.redirects_to,
        exit_code: ex.exit_code,
        server_value_preserved: ex.server_value_preserved,
        skip: ex.skip,
        rejects: ex.rejects,
        extra: extra.into_iter().collect(),
    };
    let captures = rt
        .captures
        .into_iter()
        .map(|(k, v)| {
            let pointer = string_at(at, format!("{tp}/captures/{}", pointer_key(&k)), v)?;
            Ok((k, pointer))
        })
        .collect::<Result<_>>()?;
    Ok(Step {
        name: rt.name,
        pointer: tp.to_string(),
        action,
        expect,
        captures,
    })
}

/// The last line of a regex error is the reason; the rest draws the pattern.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

fn build_request(
    rq: RawRequest,
    tp: &str,
    scope: &BTreeSet<String>,
    at: &At<'_>,
) -> Result<Request> {
    let undefined = |pointer: String| at.undefined(pointer);
    let target = match (rq.path, rq.url) {
        (Some(p), None) => Target::Path(p),
        (None, Some(u)) => Target::Url(u),
        _ => {
            return Err(at.err(
                format!("{tp}/request"),
                "a request needs exactly one of `path` and `url`".into(),
                None,
            ));
        }
    };
    let target_text = match &target {
        Target::Path(s) | Target::Url(s) => s.clone(),
    };
    let target_key = if matches!(target, Target::Path(_)) {
        "path"
    } else {
        "url"
    };
    check_vars(&target_text, scope).map_err(undefined(format!("{tp}/request/{target_key}")))?;
    let strings = |m: Map<String, Value>, what: &str| -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (k, v) in m {
            let s = string_at(at, format!("{tp}/request/{what}/{}", pointer_key(&k)), v)?;
            check_vars(&s, scope).map_err(undefined(format!(
                "{tp}/request/{what}/{}",
                pointer_key(&k)
            )))?;
            out.push((k, s));
        }
        Ok(out)
    };
    let query = strings(rq.query, "query")?;
    let headers = strings(rq.headers, "headers")?;
    if let Some(json) = &rq.json {
        check_value_vars(json, scope).map_err(undefined(format!("{tp}/request/json")))?;
    }
    Ok(Request {
        method: rq.method,
        target,
        auth: rq.auth.unwrap_or(Auth::Token),
        query,
        headers,
        json: rq.json,
    })
}

/// Names used as `${name}` in `text`, in order. `$${` is a literal `${`.
pub fn var_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            rest = &rest[i + 2..];
            continue;
        }
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

fn check_vars(
    text: &str,
    scope: &BTreeSet<String>,
) -> std::result::Result<(), (String, Option<String>)> {
    for name in var_names(text) {
        if !scope.contains(name) {
            let known: Vec<&str> = scope.iter().map(String::as_str).collect();
            let hint = closest(name, &known)
                .map(|k| format!("did you mean `${{{k}}}`?"))
                .or_else(|| {
                    Some("variables come from `vars`, earlier `captures`, or the built-ins run_id and base_url".into())
                });
            return Err((name.to_string(), hint));
        }
    }
    Ok(())
}

fn check_value_vars(
    v: &Value,
    scope: &BTreeSet<String>,
) -> std::result::Result<(), (String, Option<String>)> {
    match v {
        Value::String(s) => check_vars(s, scope),
        Value::Array(items) => items.iter().try_for_each(|i| check_value_vars(i, scope)),
        Value::Object(map) => map.values().try_for_each(|i| check_value_vars(i, scope)),
        _ => Ok(()),
    }
}

/// Leaves out scenarios only the reference mock can run, for a live target.
pub fn drop_mock_only(suites: &mut [Suite]) {
    for suite in suites {
        suite.scenarios.retain(|s| !s.mock_only);
    }
}

/// Reads suites from paths (files, or directories of `*.json`), in name order.
pub fn load_paths(format: &SuiteFormat, paths: &[PathBuf]) -> Result<Vec<Suite>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut suites = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        suites.push(format.parse(&file, &text)?);
    }
    check_unique_names(suites)
}

/// The suites shipped inside the binary (`suites/*.json` at build time).
pub fn load_embedded(format: &SuiteFormat) -> Result<Vec<Suite>> {
    let suites = crate::embedded::SUITES
        .iter()
        .map(|(path, text)| format.parse(Path::new(path), text))
        .collect::<Result<Vec<_>>>()?;
    check_unique_names(suites)
}

fn check_unique_names(suites: Vec<Suite>) -> Result<Vec<Suite>> {
    for (i, s) in suites.iter().enumerate() {
        if let Some(first) = suites[..i].iter().find(|o| o.name == s.name) {
            return Err(Error::Suite {
                path: s.file.clone(),
                pointer: "/suite".into(),
                message: format!("duplicate suite name `{}`", s.name),
                hint: Some(format!("`{}` already uses it", first.file.display())),
            });
        }
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite> {
        SuiteFormat::new()?.parse(Path::new("suites/t.json"), text)
    }

    const MINIMAL: &str = r#"{"suite":"s","scenarios":[{"name":"a","steps":[
        {"name":"one","request":{"method":"GET","path":"/healthz"},"captures":{"x":"/data/status"}},
        {"name":"two","request":{"method":"GET","path":"/v1/${x}"},"expect":{"status":200}}]}]}"#;

    #[test]
    fn parses_a_minimal_suite() -> Result<()> {
        let suite = parse(MINIMAL)?;
        assert_eq!(suite.name, "s");
        assert_eq!(suite.scenarios[0].steps.len(), 2);
        assert_eq!(suite.scenarios[0].steps[1].pointer, "/scenarios/0/steps/1");
        Ok(())
    }

    #[test]
    fn unknown_key_gets_did_you_mean() {
        let text = MINIMAL.replace("\"expect\":{\"status\"", "\"expect\":{\"stauts\"");
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("unknown expect key `stauts`"), "{e}");
        assert!(e.contains("at /scenarios/0/steps/1/expect"), "{e}");
        assert!(e.contains("did you mean `status`?"), "{e}");
    }

    #[test]
    fn undefined_variable_is_rejected_with_its_place() {
        let text = MINIMAL.replace("${x}", "${y}");
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("undefined variable `${y}`"), "{e}");
        assert!(e.contains("/scenarios/0/steps/1/request/path"), "{e}");
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = parse("{\n  \"suite\": ,\n}").map(|_| ()).unwrap_err();
        assert!(matches!(e, Error::Json { line: 2, .. }), "{e}");
    }

    #[test]
    fn wrong_type_names_the_pointer() {
        let text = MINIMAL.replace("\"status\":200", "\"status\":\"200\"");
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("/scenarios/0/steps/1/expect/status"), "{e}");
        assert!(e.contains("wrong type"), "{e}");
    }

    #[test]
    fn the_suite_format_lists_exactly_the_registry_checks() -> Result<()> {
        let text = crate::embedded::SCHEMAS
            .iter()
            .find(|(path, _)| *path == SUITE_SCHEMA_PATH)
            .map(|(_, text)| *text)
            .unwrap_or_default();
        let schema = Error::parse_json(Path::new(SUITE_SCHEMA_PATH), text)?;
        let registry = Registry::builtin();
        let mut in_schema: Vec<&str> = schema
            .pointer(EXPECT_PROPERTIES)
            .and_then(Value::as_object)
            .map(|props| props.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut registered = registry.expect_keys();
        in_schema.sort_unstable();
        registered.sort_unstable();
        assert_eq!(
            in_schema, registered,
            "suite.schema.json expect keys vs Registry::builtin"
        );
        let skip: Vec<&str> = schema
            .pointer("/$defs/expect/properties/skip/items/enum")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            skip,
            registry.skippable(),
            "expect.skip names vs always-on checks"
        );
        Ok(())
    }

    /// Builds a suite without the schema in front, as a suite the schema
    /// does not cover (or a schema mistake) would reach the model.
    fn build_unvalidated(text: &str) -> Result<Suite> {
        let raw: RawSuite = serde_json::from_str(text).map_err(|e| Error::Usage(e.to_string()))?;
        build_suite(Path::new("suites/t.json"), raw, &Registry::builtin())
    }

    #[test]
    fn a_non_string_regex_is_refused_not_matched_as_empty() {
        let text = MINIMAL.replace("\"status\":200", "\"status\":200,\"matches\":{\"/data\":7}");
        let e = build_unvalidated(&text)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected string, found number 7"), "{e}");
        assert!(
            e.contains("in suites/t.json\n  at /scenarios/0/steps/1/expect/matches/~1data"),
            "{e}"
        );
    }

    #[test]
    fn a_non_string_capture_is_refused_not_a_whole_body_capture() {
        let text = MINIMAL.replace("\"x\":\"/data/status\"", "\"x\":null");
        let e = build_unvalidated(&text)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected string, found null"), "{e}");
        assert!(e.contains("at /scenarios/0/steps/0/captures/x"), "{e}");
    }

    #[test]
    fn non_string_vars_and_headers_are_refused() {
        let vars = MINIMAL.replace(
            "{\"suite\":\"s\",",
            "{\"suite\":\"s\",\"vars\":{\"v\":[1]},",
        );
        let e = build_unvalidated(&vars)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("at /vars/v"), "{e}");
        let headers = MINIMAL.replace(
            "\"path\":\"/healthz\"",
            "\"path\":\"/healthz\",\"headers\":{\"x-a\":true}",
        );
        let e = build_unvalidated(&headers)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("at /scenarios/0/steps/0/request/headers/x-a"),
            "{e}"
        );
    }

    #[test]
    fn var_names_skip_escaped_dollars() {
        assert_eq!(var_names("a${b}c$${d}${e}"), vec!["b", "e"]);
    }
}
