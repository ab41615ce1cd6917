//! `${name}` interpolation over strings and JSON values.

use std::collections::BTreeMap;

use serde_json::Value;

/// Largest text one interpolation may produce. Suite variables may use
/// earlier ones, so a 699-byte suite once expanded to 10^10 bytes.
pub const MAX_EXPANDED_BYTES: usize = 1024 * 1024;

/// A piece of a text with `${name}` references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// The one `${}` scanner (interpolation and the load-time checks share it):
/// `$${` is a literal `${`; an unterminated `${` is text.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            out.push(Piece::Text(&rest[..i - 1]));
            out.push(Piece::Text("${"));
            rest = &rest[i + 2..];
            continue;
        }
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(Piece::Text(&rest[..i]));
        out.push(Piece::Var(&after[..end]));
        rest = &after[end + 1..];
    }
    out.push(Piece::Text(rest));
    out
}

/// Names used as `${name}` in `text`, in order.
pub fn names(text: &str) -> Vec<&str> {
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Checks that suite variables (each may use the ones before it and the
/// built-ins, at most `builtin_len` bytes each) expand to at most
/// [`MAX_EXPANDED_BYTES`]; `Err` names the first one that would not, with
/// the size it would reach.
pub fn check_sizes(vars: &[(String, String)], builtin_len: usize) -> Result<(), (String, u128)> {
    let mut sizes: BTreeMap<&str, u128> = BTreeMap::new();
    for (name, value) in vars {
        let size = pieces(value)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t.len() as u128,
                Piece::Var(v) => sizes.get(v).copied().unwrap_or(builtin_len as u128),
            })
            .fold(0u128, u128::saturating_add);
        if size > MAX_EXPANDED_BYTES as u128 {
            return Err((name.clone(), size));
        }
        sizes.insert(name, size);
    }
    Ok(())
}

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
    /// left as written (suites are checked for them at load time). The
    /// result is cut at [`MAX_EXPANDED_BYTES`] (load time refuses suites
    /// whose variables would grow past it; captures are values a server
    /// sent, already bounded by `--max-body`).
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for piece in pieces(text) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => match self.values.get(name) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
            if out.len() > MAX_EXPANDED_BYTES {
                let mut at = MAX_EXPANDED_BYTES;
                while !out.is_char_boundary(at) {
                    at -= 1;
                }
                out.truncate(at);
                break;
            }
        }
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
    fn doubling_variables_are_refused_by_name() {
        let mut vars = vec![("v0".to_string(), "x".repeat(64))];
        for i in 1..40 {
            vars.push((format!("v{i}"), format!("${{v{p}}}${{v{p}}}", p = i - 1)));
        }
        let (name, size) = check_sizes(&vars, 256).err().unwrap_or_default();
        assert_eq!(name, "v15");
        assert!(size > MAX_EXPANDED_BYTES as u128);
        assert!(check_sizes(&vars[..10], 256).is_ok());
    }

    #[test]
    fn expansion_is_cut_at_the_limit() {
        let mut v = Vars::default();
        v.set("big", json!("y".repeat(MAX_EXPANDED_BYTES)));
        assert_eq!(v.text("${big}${big}").len(), MAX_EXPANDED_BYTES);
    }

    #[test]
    fn unknown_and_unterminated_are_left_alone() {
        assert_eq!(vars().text("${nope} ${id"), "${nope} ${id");
    }
}
