//! The mock's model registry: a handful of models named in the docs, with
//! the traits the docs make observable (operations, output limits,
//! model-specific parameters, known vs unknown pricing, reference roles,
//! masks). Prices are the docs' provider costs where they give one.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::answer::{Answers, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Operation {
    Create,
    Edit,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Edit => "edit",
        }
    }
}

/// How a model's provider cost is known before it runs; costs are in
/// thousandths of a dollar per image.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "confidence", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Pricing {
    /// A fixed provider cost per image.
    Known { mills: u64 },
    /// Quoted only when all `needs` parameters are given; otherwise the
    /// cost is unknown until usage is metered at `mills` per image.
    RequestAware { needs: Vec<String>, mills: u64 },
    /// Provider-metered: unknown before, usage-priced after.
    Unknown { usage_mills: u64 },
}

/// One model parameter: a choice (each value with its cost in percent of
/// the base price) or, with `integer`, any whole number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Param {
    pub name: String,
    #[serde(default)]
    pub choices: Vec<(String, u64)>,
    #[serde(default)]
    pub integer: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// Set on the parameter that is the output's resolution class: each
    /// choice's short edge in pixels (others get 1024).
    #[serde(default)]
    pub short_edges: Vec<(String, u32)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Model {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub capability_id: String,
    pub operation: Operation,
    pub pricing: Pricing,
    pub max_outputs: u64,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub reference_roles: Vec<String>,
    #[serde(default)]
    pub mask: bool,
    pub latency_class: String,
}

/// The model registry of one version's seed (`mock.json` `catalog`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Catalog {
    #[serde(rename = "$comment", default)]
    _comment: Option<String>,
    pub models: Vec<Model>,
    /// Hosted defaults are quality-first: the first of these that fits the
    /// per-image budget wins.
    pub default_create: Vec<String>,
    pub default_edit: String,
    pub create_policy: String,
    /// Credits are cents of revenue; revenue is the provider cost times
    /// this percentage (the docs' example: a $0.05 cost is 9 credits).
    pub margin_percent: u64,
    /// Request fields the docs forbid in create and edit bodies.
    #[serde(default)]
    pub provider_native: ProviderNative,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderNative {
    pub fields: Vec<String>,
    /// Any field ending in it (`*_reference_task`).
    #[serde(default)]
    pub suffix: String,
}

impl Catalog {
    pub(crate) fn find(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// `listModels`: each model's `model_summary`.
    pub(crate) fn models_json(&self, answers: &Answers) -> Value {
        let models: Vec<Value> = self
            .models
            .iter()
            .map(|m| answers.fragment("model_summary", &m.context()))
            .collect();
        answers.operation("listModels", &Context::new().set("models", models))
    }

    /// Credits for a provider cost, rounded up.
    pub(crate) fn credits_for(&self, mills: u64) -> u64 {
        (mills * self.margin_percent).div_ceil(1000)
    }

    /// `cost` of an operation: `mills` is the total provider cost, `None`
    /// when it is not known yet.
    pub(crate) fn cost_json(
        &self,
        answers: &Answers,
        mills: Option<u64>,
        confidence: &str,
    ) -> Value {
        let context = Context::new()
            .set("cost.usd", mills.map(usd))
            .set("cost.credits", mills.map(|m| self.credits_for(m)))
            .set(
                "cost.revenue_usd",
                mills.map(|m| self.credits_for(m) as f64 / 100.0),
            )
            .set("cost.confidence", confidence);
        answers.fragment("cost", &context)
    }

    /// `listCapabilities`: each model's `capability`.
    pub(crate) fn capabilities_json(&self, answers: &Answers) -> Value {
        let capabilities: Vec<Value> = self
            .models
            .iter()
            .map(|m| m.capability_json(answers))
            .collect();
        answers.operation(
            "listCapabilities",
            &Context::new().set("capabilities", capabilities),
        )
    }

    /// A field the docs forbid in create and edit bodies: raw media URLs,
    /// elements, or a name ending in the seed's task suffix.
    pub(crate) fn provider_native(&self, key: &str) -> bool {
        let suffix = self.provider_native.suffix.as_str();
        self.provider_native.fields.iter().any(|f| f == key)
            || !suffix.is_empty() && key.len() > suffix.len() && key.ends_with(suffix)
    }
}

/// The effective parameters of one request: what was given plus defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub values: Map<String, Value>,
    pub defaults_applied: Vec<String>,
}

impl Model {
    /// Checks `given` (the request's `field`) against the model's parameter
    /// schema; unknown fields fail closed, as the docs require.
    pub(crate) fn params(&self, given: &Map<String, Value>, field: &str) -> Result<Params, String> {
        let mut values = Map::new();
        for (key, value) in given {
            let Some(param) = self.params.iter().find(|p| p.name == *key) else {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "model `{}` does not accept {field}.{key} (accepted: {})",
                    self.id,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            let fits = if param.integer {
                value.is_i64() || value.is_u64()
            } else {
                value
                    .as_str()
                    .is_some_and(|v| param.choices.iter().any(|(c, _)| c == v))
            };
            if !fits {
                return Err(format!(
                    "{field}.{key} = {value} is not allowed for model `{}`",
                    self.id
                ));
            }
            values.insert(key.clone(), value.clone());
        }
        let mut defaults_applied = Vec::new();
        for param in &self.params {
            if let (Some(default), false) = (&param.default, values.contains_key(&param.name)) {
                values.insert(param.name.clone(), Value::from(default.as_str()));
                defaults_applied.push(format!("{}={default}", param.name));
            }
        }
        Ok(Params {
            values,
            defaults_applied,
        })
    }

    /// Provider cost per image before running, if it can be known.
    pub(crate) fn quoted_mills(&self, params: &Params) -> Option<u64> {
        let base = match &self.pricing {
            Pricing::Known { mills } => *mills,
            Pricing::RequestAware { needs, mills } => {
                if !needs.iter().all(|n| params.values.contains_key(n)) {
                    return None;
                }
                *mills
            }
            Pricing::Unknown { .. } => return None,
        };
        Some(self.scaled(base, params))
    }

    /// Provider cost per image once the provider reported usage.
    pub(crate) fn metered_mills(&self, params: &Params) -> u64 {
        let base = match &self.pricing {
            Pricing::Known { mills } | Pricing::RequestAware { mills, .. } => *mills,
            Pricing::Unknown { usage_mills } => *usage_mills,
        };
        self.scaled(base, params)
    }

    fn scaled(&self, base: u64, params: &Params) -> u64 {
        self.params.iter().fold(base, |mills, param| {
            let percent = params
                .values
                .get(&param.name)
                .and_then(Value::as_str)
                .and_then(|v| param.choices.iter().find(|(c, _)| c == v))
                .map_or(100, |(_, p)| *p);
            mills * percent / 100
        })
    }

    /// The parameter that is the output's resolution class, if any.
    fn resolution(&self) -> Option<&Param> {
        self.params.iter().find(|p| !p.short_edges.is_empty())
    }

    /// The resolution class the parameters chose (`null` without one).
    pub(crate) fn resolution_class(&self, params: &Params) -> Value {
        self.resolution()
            .and_then(|p| params.values.get(&p.name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The short edge of outputs, from the resolution class.
    pub(crate) fn short_edge(&self, params: &Params) -> u32 {
        self.resolution()
            .and_then(|p| {
                let chosen = params.values.get(&p.name)?.as_str()?;
                p.short_edges.iter().find(|(c, _)| c == chosen)
            })
            .map_or(1024, |(_, edge)| *edge)
    }

    /// The `parameter_schema` of the model's parameters, each an
    /// `integer_parameter` or a `choice_parameter`.
    pub(crate) fn parameter_schema(&self, answers: &Answers) -> Value {
        let properties: Map<String, Value> = self
            .params
            .iter()
            .map(|p| {
                let schema = if p.integer {
                    answers.fragment("integer_parameter", &Context::new())
                } else {
                    let choices: Vec<&str> = p.choices.iter().map(|(c, _)| c.as_str()).collect();
                    answers.fragment(
                        "choice_parameter",
                        &Context::new().set("parameter.choices", choices),
                    )
                };
                (p.name.clone(), schema)
            })
            .collect();
        answers.fragment(
            "parameter_schema",
            &Context::new().set("model.parameter_properties", properties),
        )
    }

    fn pricing_confidence(&self) -> &'static str {
        match self.pricing {
            Pricing::Known { .. } => "known",
            Pricing::RequestAware { .. } => "request_aware",
            Pricing::Unknown { .. } => "unknown",
        }
    }

    /// The model's own values, as every catalog answer names them.
    pub(crate) fn context(&self) -> Context<'static> {
        Context::new()
            .set("model.id", self.id.as_str())
            .set("model.name", self.name.as_str())
            .set("model.provider", self.provider.as_str())
            .set("model.capability_id", self.capability_id.as_str())
            .set("model.operation", self.operation.as_str())
            .set("model.max_outputs", self.max_outputs)
            .set("model.pricing_confidence", self.pricing_confidence())
            .set("model.mask", self.mask)
            .set("model.reference_roles", self.reference_roles.clone())
            .set("model.latency_class", self.latency_class.as_str())
    }

    /// `getModel`.
    pub(crate) fn detail_json(&self, catalog: &Catalog, answers: &Answers) -> Value {
        let defaults: Map<String, Value> = self
            .params
            .iter()
            .filter_map(|p| {
                p.default
                    .as_ref()
                    .map(|d| (p.name.clone(), Value::from(d.as_str())))
            })
            .collect();
        let per_image = match &self.pricing {
            Pricing::Known { mills } => Some(*mills),
            _ => None,
        };
        let inputs: Vec<&str> = match self.operation {
            Operation::Create => Vec::new(),
            Operation::Edit => vec!["image/png", "image/jpeg", "image/webp"],
        };
        let context = self
            .context()
            .set("model.input_types", inputs)
            .set("model.parameter_schema", self.parameter_schema(answers))
            .set("model.defaults", defaults)
            .set("model.usd_per_image", per_image.map(usd))
            .set(
                "model.credits_per_image",
                per_image.map(|m| catalog.credits_for(m)),
            );
        answers.operation("getModel", &context)
    }

    /// One `capability`: its normalized controls are the request fields
    /// (by the version's request maps) a create or edit with it takes.
    pub(crate) fn capability_json(&self, answers: &Answers) -> Value {
        let (create, edit) = (answers.reads("createImage"), answers.reads("editImage"));
        let own = match self.operation {
            Operation::Create => create,
            Operation::Edit => edit,
        };
        let mut controls: Vec<&str> = [
            "create.prompt",
            "create.aspect_ratio",
            "create.output_count",
            "create.model_parameters",
            "create.max_usd_per_image",
            "create.accept_unknown_cost",
        ]
        .iter()
        .map(|name| own.field(name))
        .collect();
        if self.operation == Operation::Edit {
            controls.push(edit.field("edit.input_asset"));
        }
        if self.mask {
            controls.push(edit.field("edit.mask_asset"));
        }
        if !self.reference_roles.is_empty() {
            controls.push(own.field("create.references"));
        }
        let context = self
            .context()
            .set("model.controls", controls)
            .set("model.parameter_schema", self.parameter_schema(answers));
        answers.fragment("capability", &context)
    }
}

pub(crate) fn usd(mills: u64) -> f64 {
    mills as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(id: &str) -> Option<Model> {
        crate::mock::version::Seed::built_in()
            .catalog
            .find(id)
            .cloned()
    }

    #[test]
    fn credits_follow_the_docs_example() {
        // cli.md: $0.05 provider cost, $0.09 revenue, 9 credits.
        let catalog = crate::mock::version::Seed::built_in().catalog;
        assert_eq!(catalog.margin_percent, 180);
        assert_eq!(catalog.credits_for(50), 9);
        assert_eq!(catalog.credits_for(40), 8);
        let answers = Answers::built_in().expect("built-in answers");
        let cost = catalog.cost_json(&answers, Some(50), "known");
        assert_eq!(cost["estimated_usd"], 0.05);
        assert_eq!(cost["credit_pricing"]["estimated_revenue_usd"], 0.09);
    }

    #[test]
    fn unknown_parameters_fail_closed_and_defaults_apply() {
        let quality = find("xai.grok-imagine-image-quality").expect("listed");
        let params = quality
            .params(&Map::new(), "model_parameters")
            .expect("no parameters is fine");
        assert_eq!(params.defaults_applied, ["resolution=1k"]);
        assert_eq!(quality.quoted_mills(&params), Some(50));
        let mut given = Map::new();
        given.insert("resolution".into(), json!("2k"));
        let high = quality
            .params(&given, "model_parameters")
            .expect("2k is allowed");
        assert_eq!(quality.quoted_mills(&high), Some(70));
        given.insert("n".into(), json!(2));
        assert!(quality.params(&given, "model_parameters").is_err());
    }

    #[test]
    fn request_aware_pricing_needs_its_parameters() {
        let gpt = find("openai.gpt-image-2").expect("listed");
        let mut given = Map::new();
        given.insert("quality".into(), json!("medium"));
        let partial = gpt.params(&given, "model_parameters").expect("valid");
        assert_eq!(gpt.quoted_mills(&partial), None);
        given.insert("size".into(), json!("1024x1024"));
        let full = gpt.params(&given, "model_parameters").expect("valid");
        assert_eq!(gpt.quoted_mills(&full), Some(42));
    }

    #[test]
    fn defaults_name_listed_models() {
        let catalog = crate::mock::version::Seed::built_in().catalog;
        for id in catalog.default_create.iter().chain([&catalog.default_edit]) {
            assert!(catalog.find(id).is_some(), "{id}");
        }
    }
}
