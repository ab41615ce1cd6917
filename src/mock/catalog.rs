//! The mock's model registry: a handful of models named in the docs, with
//! the traits the docs make observable (operations, output limits,
//! model-specific parameters, known vs unknown pricing, reference roles,
//! masks). Prices are the docs' provider costs where they give one.

use serde::Deserialize;
use serde_json::{Map, Value, json};

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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Model {
    #[serde(rename = "model_id")]
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
}

impl Catalog {
    pub(crate) fn find(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    pub(crate) fn models_json(&self) -> Value {
        json!({ "models": self.models.iter().map(Model::summary_json).collect::<Vec<_>>() })
    }

    /// Credits for a provider cost, rounded up.
    pub(crate) fn credits_for(&self, mills: u64) -> u64 {
        (mills * self.margin_percent).div_ceil(1000)
    }

    /// `cost` of an operation: `mills` is the total provider cost, `None`
    /// when it is not known yet.
    pub(crate) fn cost_json(&self, mills: Option<u64>, confidence: &str) -> Value {
        json!({
            "estimated_usd": mills.map(usd),
            "credit_pricing": {
                "credit_unit_usd": 0.01,
                "credits_required": mills.map(|m| self.credits_for(m)),
                "estimated_provider_cost_usd": mills.map(usd),
                "estimated_revenue_usd": mills.map(|m| self.credits_for(m) as f64 / 100.0),
                "pricing_confidence": confidence
            }
        })
    }

    pub(crate) fn capabilities_json(&self) -> Value {
        json!({
            "capabilities": self.models.iter().map(Model::capability_json).collect::<Vec<_>>(),
            "deprecations": []
        })
    }
}

/// The effective parameters of one request: what was given plus defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub values: Map<String, Value>,
    pub defaults_applied: Vec<String>,
}

impl Model {
    /// Checks `given` against the model's parameter schema; unknown fields
    /// fail closed, as the docs require.
    pub(crate) fn params(&self, given: &Map<String, Value>) -> Result<Params, String> {
        let mut values = Map::new();
        for (key, value) in given {
            let Some(param) = self.params.iter().find(|p| p.name == *key) else {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "model `{}` does not accept model_parameters.{key} (accepted: {})",
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
                    "model_parameters.{key} = {value} is not allowed for model `{}`",
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

    /// The short edge of outputs, from the resolution class.
    pub(crate) fn short_edge(&self, params: &Params) -> u32 {
        match params.values.get("resolution").and_then(Value::as_str) {
            Some("2k") => 2048,
            _ => 1024,
        }
    }

    pub(crate) fn parameter_schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .params
            .iter()
            .map(|p| {
                let schema = if p.integer {
                    json!({ "type": "integer" })
                } else {
                    json!({ "enum": p.choices.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>() })
                };
                (p.name.clone(), schema)
            })
            .collect();
        json!({ "type": "object", "additionalProperties": false, "properties": properties })
    }

    fn pricing_confidence(&self) -> &'static str {
        match self.pricing {
            Pricing::Known { .. } => "known",
            Pricing::RequestAware { .. } => "request_aware",
            Pricing::Unknown { .. } => "unknown",
        }
    }

    pub(crate) fn summary_json(&self) -> Value {
        json!({
            "model_id": self.id,
            "name": self.name,
            "capability_id": self.capability_id,
            "operations": [self.operation.as_str()],
            "max_outputs_per_request": self.max_outputs,
            "pricing_confidence": self.pricing_confidence()
        })
    }

    pub(crate) fn detail_json(&self, catalog: &Catalog) -> Value {
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
        json!({
            "model_id": self.id,
            "name": self.name,
            "provenance": { "provider": self.provider },
            "capability": { "id": self.capability_id },
            "operations": [self.operation.as_str()],
            "media": {
                "input": {
                    "types": inputs,
                    "mask": self.mask,
                    "reference_roles": self.reference_roles
                },
                "output": {
                    "types": ["image/png"],
                    "max_outputs_per_request": self.max_outputs
                }
            },
            "model_parameters": self.parameter_schema(),
            "defaults": defaults,
            "fixed_controls": {},
            "cost": {
                "pricing_confidence": self.pricing_confidence(),
                "estimated_provider_cost_usd_per_image": per_image.map(usd),
                "credits_per_image": per_image.map(|m| catalog.credits_for(m))
            },
            "latency_class": self.latency_class,
            "safety": { "policy_checked": true },
            "migration_hints": []
        })
    }

    pub(crate) fn capability_json(&self) -> Value {
        let mut controls = vec!["prompt", "aspect_ratio", "output_count", "model_parameters"];
        controls.extend(["max_estimated_usd_per_image", "accept_unknown_cost"]);
        if self.operation == Operation::Edit {
            controls.push("input_asset_id");
        }
        if self.mask {
            controls.push("mask_asset_id");
        }
        if !self.reference_roles.is_empty() {
            controls.push("references");
        }
        json!({
            "id": self.capability_id,
            "operation": self.operation.as_str(),
            "model_id": self.id,
            "normalized_controls": controls,
            "model_parameters": self.parameter_schema(),
            "auth": { "required": true, "token": "bearer" },
            "deprecation": null
        })
    }
}

pub(crate) fn usd(mills: u64) -> f64 {
    mills as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let cost = catalog.cost_json(Some(50), "known");
        assert_eq!(cost["estimated_usd"], 0.05);
        assert_eq!(cost["credit_pricing"]["estimated_revenue_usd"], 0.09);
    }

    #[test]
    fn unknown_parameters_fail_closed_and_defaults_apply() {
        let quality = find("xai.grok-imagine-image-quality").expect("listed");
        let params = quality.params(&Map::new()).expect("no parameters is fine");
        assert_eq!(params.defaults_applied, ["resolution=1k"]);
        assert_eq!(quality.quoted_mills(&params), Some(50));
        let mut given = Map::new();
        given.insert("resolution".into(), json!("2k"));
        let high = quality.params(&given).expect("2k is allowed");
        assert_eq!(quality.quoted_mills(&high), Some(70));
        given.insert("n".into(), json!(2));
        assert!(quality.params(&given).is_err());
    }

    #[test]
    fn request_aware_pricing_needs_its_parameters() {
        let gpt = find("openai.gpt-image-2").expect("listed");
        let mut given = Map::new();
        given.insert("quality".into(), json!("medium"));
        let partial = gpt.params(&given).expect("valid");
        assert_eq!(gpt.quoted_mills(&partial), None);
        given.insert("size".into(), json!("1024x1024"));
        let full = gpt.params(&given).expect("valid");
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
