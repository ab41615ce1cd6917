//! The API model of one contract version (`api.json`): every endpoint
//! (operation id, method, path template, auth, request and response
//! schemas, documented error codes), the links between operations, the CLI
//! commands and the payment rails. The OpenAPI export, the negative probes,
//! the mock's router and the coverage checks read this, not a Rust table.

/// Path templates are the docs' notation; the model uses the same rule.
pub use crate::docs::path_matches;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiModel {
    /// Groups for the endpoints, in the order the docs introduce them.
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// How the documented flows chain: a value of one answer feeds the next.
    #[serde(default)]
    pub links: Vec<Link>,
    /// CLI commands of the docs; `commands.json` (0.1.37 on) adds
    /// `mutation` and `spend`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CliCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_rails: Option<PaymentRails>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    Bearer,
    None,
}

/// One operation of the hosted API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub operation_id: String,
    pub method: String,
    /// OpenAPI path template, e.g. `/v1/models/{model_id}`.
    pub path: String,
    pub summary: String,
    pub tag: String,
    /// The CLI command it backs, which is also the envelope's `command`.
    pub command: String,
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    pub response: Response,
    /// Error codes the docs name for this endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DocumentedError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Path,
    Query,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    pub kind: Kind,
    pub required: bool,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Body {
    /// A contract schema (`*-request`) describes the body.
    Schema { schema: String },
    /// The fields the docs list; `one_of` names fields of which exactly one
    /// is required.
    Fields {
        fields: Vec<Field>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

/// What the docs say about a value beyond its JSON type. Without it,
/// generators such as Schemathesis send values the API rightly refuses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// An email address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub email: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// JSON types of request fields and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    String,
    Integer,
    StringArray,
    /// A component schema, by name (`common.quote_id`).
    Schema(String),
    /// One of the version's payment rails (`payment_rails.rails`).
    Rail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// 200 with the success envelope; `data` follows this schema.
    Data(String),
    /// 303 to a URL of this role (the full Stripe Checkout URL).
    Redirect(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedError {
    pub code: String,
    /// Whether the server, not the request, is at fault (5XX).
    pub server: bool,
    pub when: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub from: String,
    pub to: String,
    /// Target parameter or body field → a pointer into the source's answer
    /// (`/data/quote_id`) or a literal.
    pub values: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliCommand {
    /// `credits quote`.
    pub argv: String,
    /// The operation it calls, when the docs tie it to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<bool>,
    /// Flags the docs make required (`--payment-method` from 0.1.29); an
    /// entry `--pack or --credits` asks for one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_flags: Vec<String>,
    /// `commands.json`'s surface: `client` (runs locally) or `hosted_cli`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<String>,
    /// `commands.json`'s subcommands of a command group (`packs list`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcommands: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRails {
    pub rails: Vec<String>,
    /// The API's rail for a quote that names none; `None`: the API requires
    /// one. A CLI flag the quote command requires is the CLI's rule, apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_default: Option<String>,
}

impl Endpoint {
    pub fn needs_token(&self) -> bool {
        self.auth == Auth::Bearer
    }

    pub fn id(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Contract schemas this endpoint refers to.
    pub fn schema_names(&self) -> Vec<&str> {
        let mut names = vec!["success-envelope", "error-envelope"];
        if let Response::Data(name) = &self.response {
            names.push(name);
        }
        if let Some(Body::Schema { schema }) = &self.body {
            names.push(schema);
        }
        let kinds = self.params.iter().map(|p| &p.kind).chain(
            match &self.body {
                Some(Body::Fields { fields, .. }) => fields.iter(),
                _ => [].iter(),
            }
            .map(|f| &f.kind),
        );
        names.extend(kinds.filter_map(|k| match k {
            Kind::Schema(name) => Some(name.as_str()),
            _ => None,
        }));
        names
    }

    /// Whether a concrete request path (query allowed) is this endpoint.
    pub fn matches_path(&self, concrete: &str) -> bool {
        path_matches(&self.path, concrete)
    }
}

impl ApiModel {
    pub fn parse(path: &Path, text: &str) -> Result<ApiModel> {
        let value = Error::parse_json(path, text)?;
        serde_json::from_value(value).map_err(|e| Error::Schema {
            path: path.to_path_buf(),
            pointer: String::new(),
            message: format!("not an API model: {e}"),
        })
    }

    /// The model of `version` from `source` (the nearest `api.json` of its
    /// chain), without compiling the version's schemas; empty when the
    /// chain has none.
    pub fn load(source: super::Source<'_>, version: &str) -> Result<ApiModel> {
        match source.resolve(version)?.api {
            Some(file) => ApiModel::parse(&file.path, &file.text),
            None => Ok(ApiModel::default()),
        }
    }

    pub fn endpoint(&self, operation_id: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.operation_id == operation_id)
    }

    /// The endpoint a method and concrete path reach.
    pub fn route(&self, method: &str, path: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.method.eq_ignore_ascii_case(method) && e.matches_path(path))
    }

    /// Every schema an endpoint names exists in `has`; links join
    /// operations that exist. The first problem, with its pointer.
    pub fn check(&self, has: impl Fn(&str) -> bool) -> std::result::Result<(), (String, String)> {
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            for name in endpoint.schema_names() {
                let base = name.split('.').next().unwrap_or(name);
                if !has(base) {
                    return Err((
                        format!("/endpoints/{i}"),
                        format!(
                            "{} names schema `{name}`, which the contract does not have",
                            endpoint.id()
                        ),
                    ));
                }
            }
        }
        for (i, link) in self.links.iter().enumerate() {
            for id in [&link.from, &link.to] {
                if self.endpoint(id).is_none() {
                    return Err((
                        format!("/links/{i}"),
                        format!("links operation `{id}`, which the API model does not have"),
                    ));
                }
            }
        }
        Ok(())
    }
}
