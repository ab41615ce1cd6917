//! `${name}` interpolation over strings and JSON values.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// Replaces each `${name}`; `$${` stays a literal `${`. Unknown names are
    /// left as written (suites are checked for them at load time).
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            if i > 0 && rest.as_bytes()[i - 1] == b'$' {
                out.push_str(&rest[..i - 1]);
                out.push_str("${");
                rest = &rest[i + 2..];
                continue;
            }
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else { break };
            out.push_str(&rest[..i]);
            let name = &after[..end];
            match self.values.get(name) {
                Some(Value::String(s)) => out.push_str(s),
                Some(other) => out.push_str(&other.to_string()),
                None => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Interpolates every string in a JSON value. A string that is exactly
    /// `${name}` takes the variable's JSON value, so numbers stay numbers.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                    && !name.contains(['$', '{', '}'])
                    && let Some(found) = self.values.get(name)
                {
                    return found.clone();
                }
                Value::String(self.text(s))
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, i)| (k.clone(), self.value(i)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("id", json!("quote_1"));
        v.set("n", json!(500));
        v
    }

    #[test]
    fn text_replaces_and_keeps_escapes() {
        assert_eq!(vars().text("a/${id}/${n}/$${id}"), "a/quote_1/500/${id}");
    }

    #[test]
    fn whole_string_variable_keeps_its_type() {
        assert_eq!(
            vars().value(&json!({"c": "${n}", "q": "x-${id}"})),
            json!({"c": 500, "q": "x-quote_1"})
        );
    }

    #[test]
    fn unknown_and_unterminated_are_left_alone() {
        assert_eq!(vars().text("${nope} ${id"), "${nope} ${id");
    }
}
