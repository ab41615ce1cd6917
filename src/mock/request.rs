//! Request bodies checked against the version's API model: an endpoint
//! whose `body` lists its `fields` accepts only those (plus what a rail's
//! seed entry adds) and needs the required ones, so a release that adds or
//! requires a field needs data, not a new allow-list here.

use serde_json::{Map, Value};

use super::call::ApiError;
use super::handlers::reject_unknown;
use super::version::Version;
use crate::contract::api::{ApiModel, Body, Field, Kind};

fn fields<'m>(api: &'m ApiModel, operation_id: &str) -> &'m [Field] {
    match api.endpoint(operation_id).and_then(|e| e.body.as_ref()) {
        Some(Body::Fields { fields, .. }) => fields,
        _ => &[],
    }
}

/// Unknown fields, then missing required ones, in the model's order. An
/// operation without listed fields (a `*-request` schema, or none) is the
/// handler's to check.
pub(crate) fn check_fields(
    api: &ApiModel,
    operation_id: &str,
    body: &Map<String, Value>,
    extra: &[String],
) -> Result<(), ApiError> {
    let listed = fields(api, operation_id);
    if listed.is_empty() {
        return Ok(());
    }
    let allowed: Vec<&str> = listed
        .iter()
        .map(|f| f.name.as_str())
        .chain(extra.iter().map(String::as_str).filter(|x| {
            // An extra the model already lists is not repeated.
            !listed.iter().any(|f| f.name == *x)
        }))
        .collect();
    reject_unknown(body, &allowed)?;
    match listed
        .iter()
        .find(|f| f.required && !body.contains_key(&f.name))
    {
        Some(missing) => Err(ApiError::invalid(format!(
            "missing required field `{}`",
            missing.name
        ))),
        None => Ok(()),
    }
}

/// A body described by a `*-request` schema: only the fields it names
/// (required ones are the handler's to check, in its own order).
pub(crate) fn check_schema_fields(
    version: &Version,
    operation_id: &str,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    match version.request_fields.get(operation_id) {
        Some(fields) => {
            let allowed: Vec<&str> = fields.top.iter().map(String::as_str).collect();
            reject_unknown(body, &allowed)
        }
        None => Ok(()),
    }
}

/// The fields an item of the request's array field `field` may carry;
/// `None` when the schema does not say.
pub(crate) fn item_fields<'v>(
    version: &'v Version,
    operation_id: &str,
    field: &str,
) -> Option<Vec<&'v str>> {
    let fields = version.request_fields.get(operation_id)?.items.get(field)?;
    Some(fields.iter().map(String::as_str).collect())
}

/// The name of the operation's first body field of `kind`.
pub(crate) fn field_of_kind<'m>(
    api: &'m ApiModel,
    operation_id: &str,
    kind: &Kind,
) -> Option<&'m str> {
    fields(api, operation_id)
        .iter()
        .find(|f| f.kind == *kind)
        .map(|f| f.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> ApiModel {
        ApiModel::load(crate::contract::Source::Embedded, "0.1.9").expect("embedded model")
    }

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fields_come_from_the_model() {
        let api = model();
        let check = |op: &str, value: Value, extra: &[String]| {
            check_fields(&api, op, &body(value), extra).map_err(|e| e.message)
        };
        assert_eq!(
            check("createAgentSignup", json!({ "human_email": "a@b.c" }), &[]),
            Ok(())
        );
        assert_eq!(
            check("createAgentSignup", json!({ "agent_name": "x" }), &[]),
            Err("missing required field `human_email`".to_string())
        );
        assert_eq!(
            check(
                "createFakePurchase",
                json!({ "quote_id": "q", "idempotency_key": "k", "x": 1 }),
                &[]
            ),
            Err("unknown field `x` (expected: quote_id, idempotency_key)".to_string())
        );
        assert_eq!(
            check(
                "createFakePurchase",
                json!({ "quote_id": "q", "idempotency_key": "k", "x": 1 }),
                &["x".to_string()]
            ),
            Ok(())
        );
        // A schema-described body is the handler's.
        assert_eq!(check("createImage", json!({ "anything": 1 }), &[]), Ok(()));
        assert_eq!(
            field_of_kind(&api, "runCliCommand", &Kind::StringArray),
            Some("argv")
        );
    }
}
