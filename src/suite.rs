//! Load-suite stage: JSON text → validated [`Suite`] with locations.
//!
//! A suite is first checked against `schemas/suite.schema.json`, so every
//! format error names the file, the JSON pointer and what was expected; only
//! then is it deserialized (with `deny_unknown_fields` as a second guard).
//! The format's `expect` is made from the check registry: each check gives
//! its key's schema fragment and parses its own value ([`Location`] says
//! where it is); the file's copy is kept equal to it by a test.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub use crate::check::envelope::EnvelopeKind;
pub use crate::check::rejects::Rejects;
use crate::check::{Config, Registry};
use crate::error::{Error, Result, closest};
use crate::needs::Names;
pub use crate::needs::{NeedKind, Needs, Versions};

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
    /// What every scenario of the suite needs of the contract version.
    pub needs: Needs,
    /// The versions every scenario of the suite is written for.
    pub versions: Option<Versions>,
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
    /// Its own needs; [`Suite::needs_of`] adds the suite's.
    pub needs: Needs,
    pub versions: Option<Versions>,
}

impl Suite {
    /// Scenario `index`'s needs with its suite's.
    pub fn needs_of(&self, index: usize) -> Needs {
        match self.scenarios.get(index) {
            Some(scenario) => self.needs.and(&scenario.needs),
            None => self.needs.clone(),
        }
    }

    /// Why scenario `index` cannot run against `contract`: a `versions`
    /// range (the suite's, then its own) the version is outside, else the
    /// first needed name the version's API model lacks. `None`: applicable.
    pub fn not_applicable(
        &self,
        index: usize,
        contract: &crate::contract::Contract,
    ) -> Option<String> {
        self.not_applicable_to(index, contract.version(), contract.api())
    }

    /// [`Suite::not_applicable`] for a version and its API model alone
    /// (no schemas compiled).
    pub fn not_applicable_to(
        &self,
        index: usize,
        version: &str,
        api: &crate::contract::ApiModel,
    ) -> Option<String> {
        self.why_not(index, version, api).map(|r| r.text(version))
    }

    /// The reason behind [`Suite::not_applicable_to`], unworded.
    pub fn why_not(
        &self,
        index: usize,
        version: &str,
        api: &crate::contract::ApiModel,
    ) -> Option<crate::needs::Reason> {
        use crate::needs::Reason;
        let scenario = self.scenarios.get(index)?;
        [&self.versions, &scenario.versions]
            .into_iter()
            .flatten()
            .find(|range| !range.contains(version))
            .map(|range| Reason::Outside(range.req.clone()))
            .or_else(|| {
                self.needs_of(index)
                    .first_lacking(api)
                    .map(|(kind, name)| Reason::Lacks(kind, name.to_string()))
            })
    }
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

/// A step's `expect`: each check key it names, with the value as written
/// and the check's parsed settings, plus the always-on checks it skips.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    // Keys are the checks' own (no copy per step); value and config are
    // shared by equal entries of a suite file (see `Shared`).
    entries: Vec<(Cow<'static, str>, Arc<Value>, Config)>,
    /// Always-on checks this step opts out of.
    pub skip: Vec<String>,
}

impl Expect {
    /// The settings the check with suite key `key` parsed, if the step
    /// names it (and they are a `T`).
    pub fn config<T: 'static>(&self, key: &str) -> Option<&T> {
        let (_, _, config) = self.entries.iter().find(|(k, _, _)| k == key)?;
        (**config).downcast_ref::<T>()
    }

    /// The value of `key` as the suite wrote it.
    pub fn value(&self, key: &str) -> Option<&Value> {
        let (_, value, _) = self.entries.iter().find(|(k, _, _)| k == key)?;
        Some(&**value)
    }

    /// This `expect` plus `key` (for steps made in code, not read from a suite).
    pub fn with(mut self, key: &str, value: Value, config: Config) -> Expect {
        self.entries.retain(|(k, _, _)| k != key);
        self.entries
            .push((Cow::Owned(key.to_string()), Arc::new(value), config));
        self
    }

    /// The envelope the body must have: explicit, else derived from the status.
    pub fn envelope_kind(&self) -> EnvelopeKind {
        crate::check::envelope::kind(self)
    }
}

/// Where a check's value is in its suite, for [`crate::check::Check::parse`]:
/// errors it makes name the file and a JSON pointer.
pub struct Location<'a> {
    file: &'a Path,
    key: &'a str,
    /// The pointer of the key: `/scenarios/0/steps/1/expect/status`.
    pub pointer: String,
    scope: &'a BTreeSet<String>,
    /// A client (`cli`) step rather than an HTTP one.
    pub cli: bool,
}

impl Location<'_> {
    /// An error at `pointer` in this suite file.
    pub fn error(&self, pointer: String, message: String, hint: Option<String>) -> Error {
        At(self.file).err(pointer, message, hint)
    }

    /// The pointer of `name` inside the key's object value.
    pub fn entry(&self, name: &str) -> String {
        format!("{}/{}", self.pointer, pointer_key(name))
    }

    /// The value as a `T`, or an error at the key.
    pub fn typed<T: DeserializeOwned>(&self, value: &Value) -> Result<T> {
        T::deserialize(value)
            .map_err(|e| self.error(self.pointer.clone(), format!("invalid expect: {e}"), None))
    }

    /// A value that must be a string: anything else is refused, not read
    /// as something that fails open.
    pub fn string(&self, pointer: String, value: &Value) -> Result<String> {
        string_at(&At(self.file), pointer, value.clone())
    }

    /// Every `${name}` in `text` is defined at this step.
    pub fn vars(&self, pointer: String, text: &str) -> Result<()> {
        check_vars(text, self.scope).map_err(At(self.file).undefined(pointer))
    }

    /// Every `${name}` in the strings of `value` is defined at this step.
    pub fn value_vars(&self, pointer: String, value: &Value) -> Result<()> {
        check_value_vars(value, self.scope).map_err(At(self.file).undefined(pointer))
    }

    /// Refuses the key on a step of the other kind.
    pub fn only_on(&self, cli: bool) -> Result<()> {
        if self.cli == cli {
            return Ok(());
        }
        let kind = if cli { "a cli step" } else { "an HTTP step" };
        Err(self.error(
            self.pointer.clone(),
            format!("`{}` belongs to {kind}", self.key),
            None,
        ))
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
    needs: Option<RawNeeds>,
    versions: Option<String>,
    scenarios: Vec<RawScenario>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNeeds {
    #[serde(default)]
    operations: Vec<String>,
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    rails: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    mock_only: bool,
    #[serde(rename = "description")]
    _description: Option<String>,
    needs: Option<RawNeeds>,
    versions: Option<String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    request: Option<RawRequest>,
    cli: Option<Vec<String>>,
    auth: Option<Auth>,
    // Each key is parsed by its check (see `build_expect`).
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

/// The compiled suite format, built once per run.
pub struct SuiteFormat {
    validator: jsonschema::Validator,
    registry: std::sync::Arc<Registry>,
    /// Names `needs` may use: every embedded version's, plus the loaded
    /// contract's ([`SuiteFormat::knowing`]).
    known: Names,
}

impl SuiteFormat {
    /// The format with conform's built-in checks.
    pub fn new() -> Result<SuiteFormat> {
        SuiteFormat::with_registry(std::sync::Arc::new(Registry::builtin()))
    }

    /// The format with `registry`'s checks: `expect`'s keys are made from
    /// the checks' schema fragments (see [`expect_properties`]).
    pub fn with_registry(registry: std::sync::Arc<Registry>) -> Result<SuiteFormat> {
        let text =
            crate::embedded::schema_file(SUITE_SCHEMA_PATH).ok_or_else(|| Error::Schema {
                path: PathBuf::from(SUITE_SCHEMA_PATH),
                pointer: String::new(),
                message: "the suite format schema is not embedded in this build".into(),
            })?;
        let mut schema = Error::parse_json(Path::new(SUITE_SCHEMA_PATH), text)?;
        let properties = schema
            .pointer_mut(EXPECT_PROPERTIES)
            .ok_or_else(|| Error::Schema {
                path: PathBuf::from(SUITE_SCHEMA_PATH),
                pointer: EXPECT_PROPERTIES.into(),
                message: "the suite format has no expect properties".into(),
            })?;
        *properties = Value::Object(expect_properties(&registry)?);
        let validator = jsonschema::validator_for(&schema).map_err(|e| Error::Schema {
            path: PathBuf::from(SUITE_SCHEMA_PATH),
            pointer: e.schema_path().to_string(),
            message: e.to_string(),
        })?;
        Ok(SuiteFormat {
            validator,
            registry,
            known: crate::needs::embedded_names()?.clone(),
        })
    }

    /// Also accepts in `needs` the names of `api` (a contract read with
    /// `--schemas` may document what no embedded version does).
    pub fn knowing(mut self, api: &crate::contract::ApiModel) -> SuiteFormat {
        self.known.add(api);
        self
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
        build_suite(file, raw, &self.registry, &self.known)
    }

    fn check_format(&self, file: &Path, value: &Value) -> Result<()> {
        // Most suites are valid: the yes/no walk stops at nothing and
        // builds no error, and only a failing suite pays for them all.
        if self.validator.is_valid(value) {
            return Ok(());
        }
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

/// `expect`'s properties for `registry`: each suite key's schema fragment,
/// in registry order, then `skip` listing the always-on checks.
pub fn expect_properties(registry: &Registry) -> Result<Map<String, Value>> {
    let schema_error = |key: &str, message: String| Error::Schema {
        path: PathBuf::from(SUITE_SCHEMA_PATH),
        pointer: format!("{EXPECT_PROPERTIES}/{}", pointer_key(key)),
        message,
    };
    let mut properties = Map::new();
    for check in registry.checks().filter(|c| c.is_suite_key()) {
        let key = check.key();
        let fragment = check.schema().ok_or_else(|| {
            schema_error(
                key,
                format!("check `{key}` is an expect key but has no schema"),
            )
        })?;
        if key == SKIP || properties.insert(key.to_string(), fragment).is_some() {
            return Err(schema_error(
                key,
                format!("check `{key}` reuses an expect key"),
            ));
        }
    }
    let skip = json!({
        "description": "Always-on HTTP checks this step opts out of.",
        "type": "array",
        "items": {"enum": registry.skippable()},
        "uniqueItems": true
    });
    properties.insert(SKIP.to_string(), skip);
    Ok(properties)
}

/// The `expect` key that lists always-on checks to leave out.
const SKIP: &str = "skip";

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

pub use crate::hash::pointer_key;

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
        ["needs"] | ["scenarios", _, "needs"] => "needs",
        ["scenarios", _, "steps", _] => "step",
        ["scenarios", _, "steps", _, "request"] => "request",
        ["scenarios", _, "steps", _, "expect"] => "expect",
        _ => "object",
    }
}

fn known_keys(object: &str, registry: &Registry) -> Vec<&'static str> {
    match object {
        "suite" => vec![
            "$schema",
            "suite",
            "description",
            "vars",
            "needs",
            "versions",
            "scenarios",
        ],
        "scenario" => vec![
            "name",
            "description",
            "mock_only",
            "needs",
            "versions",
            "steps",
        ],
        "needs" => vec!["operations", "commands", "rails"],
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

fn build_suite(
    file: &Path,
    raw: RawSuite,
    registry: &Registry,
    model_names: &Names,
) -> Result<Suite> {
    let at = At(file);
    let suite_needs = build_needs(raw.needs, "/needs", &at, model_names)?;
    let suite_versions = build_versions(raw.versions, "/versions", &at)?;
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
    // Built-ins: run_id is 8 hex digits, base_url a short URL.
    crate::vars::check_sizes(&vars, 256).map_err(|(name, size)| {
        err(
            format!("/vars/{}", pointer_key(&name)),
            format!(
                "variable `{name}` expands to {size} bytes, over the {} limit",
                crate::vars::MAX_EXPANDED_BYTES
            ),
            Some("a variable may use earlier ones; doubling them grows exponentially".into()),
        )
    })?;

    let mut scenarios = Vec::with_capacity(raw.scenarios.len());
    let mut shared = Shared::new();
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
        let mut steps = Vec::with_capacity(rs.steps.len());
        for (ti, rt) in rs.steps.into_iter().enumerate() {
            let tp = format!("{sp}/steps/{ti}");
            let step = build_step(rt, &tp, &scope, &at, registry, &mut shared)?;
            scope.extend(step.captures.iter().map(|(name, _)| name.clone()));
            steps.push(step);
        }
        let needs = build_needs(rs.needs, &format!("{sp}/needs"), &at, model_names)?;
        let versions = build_versions(rs.versions, &format!("{sp}/versions"), &at)?;
        scenarios.push(Scenario {
            name: rs.name,
            pointer: sp,
            steps,
            mock_only: rs.mock_only,
            needs,
            versions,
        });
    }
    Ok(Suite {
        name: raw.suite,
        file: file.to_path_buf(),
        description: raw.description,
        vars,
        needs: suite_needs,
        versions: suite_versions,
        scenarios,
    })
}

/// `needs` at `pointer`: every name must be one some contract version has.
fn build_needs(raw: Option<RawNeeds>, pointer: &str, at: &At<'_>, known: &Names) -> Result<Needs> {
    let Some(raw) = raw else {
        return Ok(Needs::default());
    };
    let needs = Needs {
        operations: raw.operations,
        commands: raw.commands,
        rails: raw.rails,
    };
    for kind in NeedKind::ALL {
        for (i, name) in needs.of(kind).iter().enumerate() {
            if known.has(kind, name) {
                continue;
            }
            let list = known.list(kind);
            let hint = match closest(name, &list) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("known {}s: {}", kind.word(), list.join(", ")),
            };
            let versions = crate::contract::Contract::known_versions();
            let span = match (versions.first(), versions.last()) {
                (Some(first), Some(last)) => format!("{first}…{last}"),
                _ => "embedded".to_string(),
            };
            return Err(at.err(
                format!("{pointer}/{}/{i}", kind.key()),
                format!(
                    "unknown {} `{name}`: no contract version {span} documents it",
                    kind.word()
                ),
                Some(hint),
            ));
        }
    }
    Ok(needs)
}

/// `versions` at `pointer`, parsed by `semver` as a version requirement.
fn build_versions(raw: Option<String>, pointer: &str, at: &At<'_>) -> Result<Option<Versions>> {
    let Some(text) = raw else {
        return Ok(None);
    };
    Versions::parse(&text).map(Some).map_err(|e| {
        at.err(
            pointer.to_string(),
            format!("`{text}` is not a version range: {e}"),
            Some("write a semver requirement, e.g. `>=0.1.11, <0.1.29`".into()),
        )
    })
}

fn build_step(
    rt: RawStep,
    tp: &str,
    scope: &BTreeSet<String>,
    at: &At<'_>,
    registry: &Registry,
    shared: &mut Shared,
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
    let cli = matches!(action, Action::Cli { .. });
    let expect = build_expect(rt.expect, &ep, cli, scope, at, registry, shared)?;
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

/// Refuses at load time what could never be sent (it used to fail every
/// run at send time, exit 3): a header name HTTP does not allow, a control
/// character (CR/LF: header injection) in a header value, a URL that is
/// not http(s). `Content-Length` (and `Transfer-Encoding`, `Host`) are
/// refused rather than dropped: conform frames the body itself, and a
/// suite value that disagrees made the server wait for bytes that never
/// came, so each step waited the whole `--step-timeout`.
fn check_sendable(
    target: &Target,
    headers: &[(String, String)],
    tp: &str,
    at: &At<'_>,
) -> Result<()> {
    const FRAMING: &[&str] = &["content-length", "transfer-encoding", "host"];
    for (name, value) in headers {
        let pointer = format!("{tp}/request/headers/{}", pointer_key(name));
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(at.err(
                pointer,
                format!("`{name}` is not a valid HTTP header name"),
                None,
            ));
        }
        if FRAMING.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            return Err(at.err(
                pointer,
                format!("header `{name}` is set by conform from the request itself"),
                Some("remove it; a wrong value makes the server wait out every step".into()),
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(at.err(
                pointer,
                format!("header `{name}` holds a control character (CR/LF would inject headers)"),
                None,
            ));
        }
    }
    if let Target::Url(u) = target
        && !u.trim_start().starts_with("${")
    {
        let pointer = format!("{tp}/request/url");
        // Variables stand in as a plain word: only the shape is checked.
        let shape: String = crate::vars::pieces(u)
            .into_iter()
            .map(|p| match p {
                crate::vars::Piece::Text(t) => t,
                crate::vars::Piece::Var(_) => "x",
            })
            .collect();
        match url::Url::parse(&shape) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {}
            Ok(parsed) => {
                return Err(at.err(
                    pointer,
                    format!(
                        "`{u}` is a {}: URL; only http and https can be sent",
                        parsed.scheme()
                    ),
                    None,
                ));
            }
            Err(e) => {
                return Err(at.err(pointer, format!("`{u}` is not a URL: {e}"), None));
            }
        }
    }
    Ok(())
}

/// A suite file's `expect` entries by check key, step kind and value text:
/// a check's settings depend only on its value (the location only words
/// errors), so equal entries share one parsed copy. 100,000 generated
/// scenarios held four apiece.
type Shared = HashMap<(&'static str, bool, String), (Arc<Value>, Config)>;

/// Each key of a step's `expect` parsed by its check, in registry order;
/// a key no check claims is refused (the schema refuses it first).
fn build_expect(
    mut raw: Map<String, Value>,
    ep: &str,
    cli: bool,
    scope: &BTreeSet<String>,
    at: &At<'_>,
    registry: &Registry,
    shared: &mut Shared,
) -> Result<Expect> {
    let mut expect = Expect::default();
    if let Some(skip) = raw.remove(SKIP) {
        let known = registry.skippable();
        let names: Vec<String> = Vec::deserialize(&skip)
            .map_err(|e| at.err(format!("{ep}/{SKIP}"), format!("invalid expect: {e}"), None))?;
        if let Some((i, name)) = names
            .iter()
            .enumerate()
            .find(|(_, n)| !known.contains(&n.as_str()))
        {
            return Err(at.err(
                format!("{ep}/{SKIP}/{i}"),
                format!("`{name}` is not an always-on check"),
                Some(format!("expected one of: {}", known.join(", "))),
            ));
        }
        expect.skip = names;
    }
    for check in registry.checks().filter(|c| c.is_suite_key()) {
        let key = check.key();
        let Some(value) = raw.remove(key) else {
            continue;
        };
        let location = Location {
            file: at.0,
            key,
            pointer: format!("{ep}/{}", pointer_key(key)),
            scope,
            cli,
        };
        // Parsed every time, so errors name this step; kept only once.
        let config = check.parse(&value, &location)?;
        let (value, config) = shared
            .entry((key, cli, value.to_string()))
            .or_insert_with(|| (Arc::new(value), config))
            .clone();
        expect.entries.push((Cow::Borrowed(key), value, config));
    }
    expect.entries.shrink_to_fit();
    if let Some(key) = raw.keys().next() {
        let known = registry.expect_keys();
        let hint = closest(key, &known)
            .map(|k| format!("did you mean `{k}`?"))
            .or_else(|| Some(format!("expected one of: {}", known.join(", "))));
        return Err(at.err(ep.to_string(), format!("unknown expect key `{key}`"), hint));
    }
    Ok(expect)
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
    check_sendable(&target, &headers, tp, at)?;
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

/// Names used as `${name}` in `text`, in order (the scanner is in vars.rs).
pub fn var_names(text: &str) -> Vec<&str> {
    crate::vars::names(text)
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
        let text = crate::input::read_to_string(&file).map_err(|source| Error::Read {
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
    fn equal_expect_entries_share_one_parsed_copy() -> Result<()> {
        let step = |status: u16| json!({"name":"s","request":{"method":"GET","path":"/healthz"},"expect":{"status":status}});
        let text = json!({"suite":"s","scenarios":[
            {"name":"a","steps":[step(200), step(200)]},
            {"name":"b","steps":[step(201)]}]})
        .to_string();
        let suite = parse(&text)?;
        let entry = |s: usize, t: usize| suite.scenarios[s].steps[t].expect.entries[0].clone();
        let (a, b, c) = (entry(0, 0), entry(0, 1), entry(1, 0));
        assert!(Arc::ptr_eq(&a.1, &b.1) && Arc::ptr_eq(&a.2, &b.2));
        assert!(
            !Arc::ptr_eq(&a.2, &c.2),
            "a different value is parsed apart"
        );
        assert_eq!(
            suite.scenarios[1].steps[0].expect.value("status"),
            Some(&json!(201))
        );
        Ok(())
    }

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

    /// `schemas/suite.schema.json` is for people and editors; the loader
    /// makes `expect` from the registry. The two must not drift.
    #[test]
    fn the_suite_format_lists_exactly_the_registry_checks() -> Result<()> {
        let text = crate::embedded::schema_file(SUITE_SCHEMA_PATH).unwrap_or_default();
        let schema = Error::parse_json(Path::new(SUITE_SCHEMA_PATH), text)?;
        let in_file = schema.pointer(EXPECT_PROPERTIES).cloned();
        let generated = Value::Object(expect_properties(&Registry::builtin())?);
        // Serialized, so key order (the reading order) counts too.
        assert_eq!(
            in_file.map(|v| v.to_string()),
            Some(generated.to_string()),
            "{SUITE_SCHEMA_PATH} {EXPECT_PROPERTIES} must be what the registry makes:\n{}",
            serde_json::to_string_pretty(&generated).unwrap_or_default()
        );
        Ok(())
    }

    #[test]
    fn a_check_that_reuses_an_expect_key_is_refused() {
        struct Again;
        impl crate::check::Check for Again {
            fn key(&self) -> &'static str {
                "status"
            }
            fn schema(&self) -> Option<Value> {
                Some(json!({}))
            }
            fn evaluate(
                &self,
                _: &crate::check::StepInput<'_>,
                _: &crate::check::Context<'_>,
            ) -> Vec<crate::outcome::CheckOutcome> {
                Vec::new()
            }
        }
        let registry = std::sync::Arc::new(Registry::builtin().with(Again));
        let e = SuiteFormat::with_registry(registry)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("check `status` reuses an expect key"), "{e}");
    }

    #[test]
    fn an_unknown_skip_name_is_refused_without_the_schema() {
        let text = MINIMAL.replace("\"status\":200", "\"status\":200,\"skip\":[\"trace_idd\"]");
        let e = build_unvalidated(&text)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`trace_idd` is not an always-on check"), "{e}");
        assert!(e.contains("at /scenarios/0/steps/1/expect/skip/0"), "{e}");
    }

    #[test]
    fn a_key_on_the_wrong_kind_of_step_is_refused_by_its_check() {
        let text = MINIMAL.replace("\"status\":200", "\"exit_code\":0");
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("`exit_code` belongs to a cli step"), "{e}");
        assert!(
            e.contains("at /scenarios/0/steps/1/expect/exit_code"),
            "{e}"
        );
    }

    /// Builds a suite without the schema in front, as a suite the schema
    /// does not cover (or a schema mistake) would reach the model.
    fn build_unvalidated(text: &str) -> Result<Suite> {
        let raw: RawSuite = serde_json::from_str(text).map_err(|e| Error::Usage(e.to_string()))?;
        let known = crate::needs::embedded_names()?;
        build_suite(Path::new("suites/t.json"), raw, &Registry::builtin(), known)
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
    fn needs_and_versions_load_on_suite_and_scenario() -> Result<()> {
        let text = MINIMAL
            .replace(
                "{\"suite\":\"s\",",
                "{\"suite\":\"s\",\"needs\":{\"operations\":[\"getHealth\"]},\"versions\":\">=0.1.0\",",
            )
            .replace(
                "{\"name\":\"a\",",
                "{\"name\":\"a\",\"needs\":{\"rails\":[\"fake\"],\"commands\":[\"credits fake-purchase\"]},\"versions\":\"<0.1.11\",",
            );
        let suite = parse(&text)?;
        assert_eq!(suite.needs.operations, vec!["getHealth"]);
        let needs = suite.needs_of(0);
        assert_eq!(needs.operations, vec!["getHealth"]);
        assert_eq!(needs.rails, vec!["fake"]);
        assert_eq!(needs.commands, vec!["credits fake-purchase"]);
        assert!(suite.scenarios[0].versions.is_some());
        Ok(())
    }

    #[test]
    fn a_bad_version_range_names_the_file_and_pointer() {
        let text = MINIMAL.replace(
            "{\"name\":\"a\",",
            "{\"name\":\"a\",\"versions\":\">=0.1.x.9\",",
        );
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("`>=0.1.x.9` is not a version range"), "{e}");
        assert!(
            e.contains("in suites/t.json\n  at /scenarios/0/versions"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_needed_name_is_refused_with_a_suggestion() {
        for (needs, pointer, word) in [
            (
                r#"{"operations":["createFakePurchas"]}"#,
                "/needs/operations/0",
                "did you mean `createFakePurchase`?",
            ),
            (
                r#"{"rails":["stripe_checkout","fak"]}"#,
                "/needs/rails/1",
                "did you mean `fake`?",
            ),
            (
                r#"{"commands":["credits fake-purchas"]}"#,
                "/needs/commands/0",
                "did you mean `credits fake-purchase`?",
            ),
        ] {
            let text = MINIMAL.replace(
                "{\"suite\":\"s\",",
                &format!("{{\"suite\":\"s\",\"needs\":{needs},"),
            );
            let e = parse(&text).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains("no contract version 0.1.0…"), "{e}");
            assert!(e.contains(&format!("at {pointer}")), "{e}");
            assert!(e.contains(word), "{e}");
        }
        let text = MINIMAL.replace(
            "{\"suite\":\"s\",",
            "{\"suite\":\"s\",\"needs\":{\"rail\":[]},",
        );
        let e = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("unknown needs key `rail`"), "{e}");
        assert!(e.contains("did you mean `rails`?"), "{e}");
    }

    #[test]
    fn var_names_skip_escaped_dollars() {
        assert_eq!(var_names("a${b}c$${d}${e}"), vec!["b", "e"]);
    }
}
