//! Mock profiles: how the reference server deviates from the current contract.

use std::collections::BTreeSet;

use serde_json::Value;

use super::version::Version;

use crate::{Error, Result};

/// Which behaviour the reference mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Follows the current (0.1.9) contract.
    Conformant,
    /// Reproduces 0.1.8: Stripe Checkout URLs lose their `#...` fragment.
    Regressed018,
    /// Serves protected endpoints without a valid token (for `--negative`).
    IgnoresAuth,
    /// Some endpoints answer 500/503, with and without an error envelope.
    Faults5xx,
    /// Some endpoints answer garbage: non-JSON, truncated JSON, invalid
    /// UTF-8, a wrong content-type, an empty 200.
    FaultsGarbage,
    /// Every answer comes after the default step timeout.
    FaultsSlow,
    /// The catalog endpoints answer with a 50 MB body.
    FaultsHuge,
    /// Every connection is closed in the middle of the response.
    FaultsReset,
}

impl Profile {
    pub const ALL: &'static [Profile] = &[
        Profile::Conformant,
        Profile::Regressed018,
        Profile::IgnoresAuth,
        Profile::Faults5xx,
        Profile::FaultsGarbage,
        Profile::FaultsSlow,
        Profile::FaultsHuge,
        Profile::FaultsReset,
    ];

    /// The profiles that follow a published contract (0.1.9, 0.1.8); the
    /// rest break things on purpose.
    pub const CONTRACTS: &'static [Profile] = &[Profile::Conformant, Profile::Regressed018];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Conformant => "conformant",
            Profile::Regressed018 => "regressed-0.1.8",
            Profile::IgnoresAuth => "ignores-auth",
            Profile::Faults5xx => "faults-5xx",
            Profile::FaultsGarbage => "faults-garbage",
            Profile::FaultsSlow => "faults-slow",
            Profile::FaultsHuge => "faults-huge",
            Profile::FaultsReset => "faults-reset",
        }
    }

    /// One line for `--help` and shell completions.
    pub fn summary(self) -> &'static str {
        match self {
            Profile::Conformant => "follows the current contract",
            Profile::Regressed018 => "0.1.8: Stripe Checkout URLs lose their #fragment",
            Profile::IgnoresAuth => "serves protected endpoints without a valid token",
            Profile::Faults5xx => "some endpoints answer 500/503",
            Profile::FaultsGarbage => "some endpoints answer garbage instead of JSON",
            Profile::FaultsSlow => "every answer comes after the default step timeout",
            Profile::FaultsHuge => "the catalog endpoints answer with a 50 MB body",
            Profile::FaultsReset => "every connection is closed mid-response",
        }
    }

    pub fn parse(name: &str) -> Result<Profile> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                Error::Usage(format!(
                    "unknown mock profile `{name}` (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// Applies the profile to an outgoing JSON body, just before it is served.
    /// Keeping every deviation here means handlers only ever build the
    /// conformant response.
    /// `version`: which fields are Stripe Checkout URLs (by their schema
    /// role), and whether the version's own docs strip them already.
    pub(crate) fn shape(self, body: &mut Value, version: &Version) {
        if self == Profile::Regressed018 || version.strips_fragments {
            strip_checkout_fragments(body, &version.checkout_url_keys);
        }
    }
}

/// The 0.1.8 regression: cut the `#...` fragment off every Stripe Checkout
/// URL, i.e. the string value of every `keys` field wherever it nests.
fn strip_checkout_fragments(value: &mut Value, keys: &BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if let Value::String(url) = child
                    && keys.contains(key.as_str())
                {
                    if let Some(hash) = url.find('#') {
                        url.truncate(hash);
                    }
                } else {
                    strip_checkout_fragments(child, keys);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| strip_checkout_fragments(i, keys)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regressed_strips_every_checkout_url_and_nothing_else() {
        let mut body = json!({
            "data": {
                "checkout_url": "https://checkout.stripe.com/c/pay/cs_1#frag",
                "checkout_compact_url": "https://checkout.stripe.com/c/pay/cs_1#frag",
                "checkout_handoff_url": "http://127.0.0.1:1/pay/payatt_1",
                "note": "keep #this",
                "next": { "fallback_checkout_url": "https://x/#a", "checkout_compact_url": "https://x/#b" },
                "payment_attempt": { "checkout_url": "https://x/#c" }
            }
        });

        let api = crate::contract::ApiModel::default();
        let version = Version::of(crate::mock::Serves::Api(&api)).expect("built-in seed");
        Profile::Regressed018.shape(&mut body, &version);

        let data = &body["data"];
        assert_eq!(
            data["checkout_url"],
            "https://checkout.stripe.com/c/pay/cs_1"
        );
        assert_eq!(
            data["checkout_compact_url"],
            "https://checkout.stripe.com/c/pay/cs_1"
        );
        assert_eq!(
            data["checkout_handoff_url"],
            "http://127.0.0.1:1/pay/payatt_1"
        );
        assert_eq!(data["note"], "keep #this");
        assert_eq!(data["next"]["fallback_checkout_url"], "https://x/");
        assert_eq!(data["next"]["checkout_compact_url"], "https://x/");
        assert_eq!(data["payment_attempt"]["checkout_url"], "https://x/");
    }

    #[test]
    fn parse_round_trips_names_and_rejects_unknown() {
        for p in Profile::ALL {
            assert_eq!(Profile::parse(p.name()).ok(), Some(*p));
        }
        let err = Profile::parse("x").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "unknown mock profile `x` (known: conformant, regressed-0.1.8, ignores-auth, \
                 faults-5xx, faults-garbage, faults-slow, faults-huge, faults-reset)"
            )
        );
    }
}
