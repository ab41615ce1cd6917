//! The mock's model registry: a handful of models named in the docs, with
//! the traits the docs make observable (operations, output limits,
//! model-specific parameters, known vs unknown pricing, reference roles,
//! masks). Prices are the docs' provider costs where they give one.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// How a model's provider cost is known before it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pricing {
    /// A fixed provider cost per image, in thousandths of a dollar.
    Known(u64),
    /// Quoted only when all `needs` parameters are given; otherwise the
    /// cost is unknown until usage is metered at `mills` per image.
    RequestAware {
        needs: &'static [&'static str],
        mills: u64,
    },
    /// Provider-metered: unknown before, usage-priced after.
    Unknown { usage_mills: u64 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ParamKind {
    /// Allowed values, each with its cost in percent of the base price.
    Choice(&'static [(&'static str, u64)]),
    Integer,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Model {
    pub id: &'static str,
    pub name: &'static str,
    pub provider: &'static str,
    pub capability_id: &'static str,
    pub operation: Operation,
    pub pricing: Pricing,
    pub max_outputs: u64,
    pub params: &'static [Param],
    pub reference_roles: &'static [&'static str],
    pub mask: bool,
    pub latency_class: &'static str,
}

const RESOLUTION_XAI: Param = Param {
    name: "resolution",
    // The docs price 2k from the higher provider tier.
    kind: ParamKind::Choice(&[("1k", 100), ("2k", 140)]),
    default: Some("1k"),
};
const SEED: Param = Param {
    name: "seed",
    kind: ParamKind::Integer,
    default: None,
};
const GPT_QUALITY: Param = Param {
    name: "quality",
    kind: ParamKind::Choice(&[("low", 25), ("medium", 100), ("high", 400)]),
    default: None,
};
const GPT_SIZE: Param = Param {
    name: "size",
    kind: ParamKind::Choice(&[("1024x1024", 100), ("1024x1536", 150), ("1536x1024", 150)]),
    default: None,
};
const GPT_BACKGROUND: Param = Param {
    name: "background",
    kind: ParamKind::Choice(&[("auto", 100), ("opaque", 100), ("transparent", 100)]),
    default: None,
};
const GPT_FORMAT: Param = Param {
    name: "output_format",
    kind: ParamKind::Choice(&[("png", 100), ("jpeg", 100), ("webp", 100)]),
    default: None,
};

pub(crate) const MODELS: &[Model] = &[
    Model {
        id: "xai.grok-imagine-image-quality",
        name: "xAI Grok Imagine Image Quality",
        provider: "xai",
        capability_id: "is.image.generate.xai-grok-imagine-image-quality.v1",
        operation: Operation::Create,
        pricing: Pricing::Known(50),
        max_outputs: 4,
        params: &[RESOLUTION_XAI],
        reference_roles: &[],
        mask: false,
        latency_class: "standard",
    },
    Model {
        id: "xai.grok-imagine-image",
        name: "xAI Grok Imagine Image",
        provider: "xai",
        capability_id: "is.image.generate.xai-grok-imagine-image.v1",
        operation: Operation::Create,
        pricing: Pricing::Known(20),
        max_outputs: 4,
        params: &[],
        reference_roles: &[],
        mask: false,
        latency_class: "fast",
    },
    Model {
        id: "openai.gpt-image-2",
        name: "GPT Image 2",
        provider: "openai",
        capability_id: "is.image.generate.openai-gpt-image-2.v1",
        operation: Operation::Create,
        pricing: Pricing::RequestAware {
            needs: &["quality", "size"],
            mills: 42,
        },
        max_outputs: 4,
        params: &[GPT_QUALITY, GPT_SIZE, GPT_BACKGROUND, GPT_FORMAT],
        reference_roles: &[],
        mask: false,
        latency_class: "standard",
    },
    Model {
        id: "fal.flux-pro-kontext",
        name: "Fal FLUX Pro Kontext Edit",
        provider: "fal",
        capability_id: "is.image.edit.fal-flux-pro-kontext.v1",
        operation: Operation::Edit,
        pricing: Pricing::Known(40),
        max_outputs: 1,
        params: &[SEED],
        reference_roles: &[],
        mask: false,
        latency_class: "standard",
    },
    Model {
        id: "openai.gpt-image-2-edit",
        name: "GPT Image 2 Edit",
        provider: "openai",
        capability_id: "is.image.edit.openai-gpt-image-2-edit.v1",
        operation: Operation::Edit,
        pricing: Pricing::Unknown { usage_mills: 42 },
        max_outputs: 1,
        params: &[GPT_QUALITY, GPT_SIZE, GPT_BACKGROUND],
        reference_roles: &[],
        mask: true,
        latency_class: "standard",
    },
    Model {
        id: "fal.kling-image-o3-image-to-image",
        name: "Kling Image O3 image-to-image",
        provider: "fal",
        capability_id: "is.image.edit.fal-kling-image-o3-image-to-image.v1",
        operation: Operation::Edit,
        pricing: Pricing::Unknown { usage_mills: 28 },
        max_outputs: 1,
        params: &[SEED],
        reference_roles: &["element_frontal", "element_reference"],
        mask: false,
        latency_class: "slow",
    },
];

/// Hosted defaults are quality-first: the first of these that fits the
/// per-image budget wins.
pub(crate) const DEFAULT_CREATE: &[&str] =
    &["xai.grok-imagine-image-quality", "xai.grok-imagine-image"];
pub(crate) const DEFAULT_EDIT: &str = "openai.gpt-image-2-edit";
pub(crate) const CREATE_POLICY: &str = "hosted_default_create_v1";

/// Credits are cents of revenue; revenue is the provider cost with the
/// docs' example margin (a $0.05 provider cost is 9 credits).
const MARGIN_PERCENT: u64 = 180;

pub(crate) fn find(id: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.id == id)
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
            let Some(param) = self.params.iter().find(|p| p.name == key) else {
                let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
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
            let fits = match param.kind {
                ParamKind::Choice(choices) => value
                    .as_str()
                    .is_some_and(|v| choices.iter().any(|(c, _)| *c == v)),
                ParamKind::Integer => value.is_i64() || value.is_u64(),
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
        for param in self.params {
            if let (Some(default), false) = (param.default, values.contains_key(param.name)) {
                values.insert(param.name.to_string(), Value::from(default));
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
        let base = match self.pricing {
            Pricing::Known(mills) => mills,
            Pricing::RequestAware { needs, mills } => {
                if !needs.iter().all(|n| params.values.contains_key(*n)) {
                    return None;
                }
                mills
            }
            Pricing::Unknown { .. } => return None,
        };
        Some(self.scaled(base, params))
    }

    /// Provider cost per image once the provider reported usage.
    pub(crate) fn metered_mills(&self, params: &Params) -> u64 {
        let base = match self.pricing {
            Pricing::Known(mills) | Pricing::RequestAware { mills, .. } => mills,
            Pricing::Unknown { usage_mills } => usage_mills,
        };
        self.scaled(base, params)
    }

    fn scaled(&self, base: u64, params: &Params) -> u64 {
        self.params.iter().fold(base, |mills, param| {
            let ParamKind::Choice(choices) = param.kind else {
                return mills;
            };
            let percent = params
                .values
                .get(param.name)
                .and_then(Value::as_str)
                .and_then(|v| choices.iter().find(|(c, _)| *c == v))
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
                let schema = match p.kind {
                    ParamKind::Choice(choices) => {
                        json!({ "enum": choices.iter().map(|(c, _)| *c).collect::<Vec<_>>() })
                    }
                    ParamKind::Integer => json!({ "type": "integer" }),
                };
                (p.name.to_string(), schema)
            })
            .collect();
        json!({ "type": "object", "additionalProperties": false, "properties": properties })
    }

    fn pricing_confidence(&self) -> &'static str {
        match self.pricing {
            Pricing::Known(_) => "known",
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

    pub(crate) fn detail_json(&self) -> Value {
        let defaults: Map<String, Value> = self
            .params
            .iter()
            .filter_map(|p| p.default.map(|d| (p.name.to_string(), Value::from(d))))
            .collect();
        let per_image = match self.pricing {
            Pricing::Known(mills) => Some(mills),
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
                "credits_per_image": per_image.map(credits_for)
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

/// Credits for a provider cost, rounded up.
pub(crate) fn credits_for(mills: u64) -> u64 {
    (mills * MARGIN_PERCENT).div_ceil(1000)
}

pub(crate) fn usd(mills: u64) -> f64 {
    mills as f64 / 1000.0
}

/// `cost` of an operation: `mills` is the total provider cost, `None` when
/// it is not known yet.
pub(crate) fn cost_json(mills: Option<u64>, confidence: &str) -> Value {
    json!({
        "estimated_usd": mills.map(usd),
        "credit_pricing": {
            "credit_unit_usd": 0.01,
            "credits_required": mills.map(credits_for),
            "estimated_provider_cost_usd": mills.map(usd),
            "estimated_revenue_usd": mills.map(|m| credits_for(m) as f64 / 100.0),
            "pricing_confidence": confidence
        }
    })
}

pub(crate) fn models_json() -> Value {
    json!({ "models": MODELS.iter().map(Model::summary_json).collect::<Vec<_>>() })
}

pub(crate) fn capabilities_json() -> Value {
    json!({
        "capabilities": MODELS.iter().map(Model::capability_json).collect::<Vec<_>>(),
        "deprecations": []
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_follow_the_docs_example() {
        // cli.md: $0.05 provider cost, $0.09 revenue, 9 credits.
        assert_eq!(credits_for(50), 9);
        assert_eq!(credits_for(40), 8);
        let cost = cost_json(Some(50), "known");
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
        for id in DEFAULT_CREATE.iter().chain([&DEFAULT_EDIT]) {
            assert!(find(id).is_some(), "{id}");
        }
    }
}
