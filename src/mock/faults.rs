//! Fault profiles: a misbehaving server, so conform's own robustness can be
//! measured (what it reports, that it never panics or hangs, that memory
//! stays bounded). Each fault replaces the answer of some routes; the rest
//! of the mock stays conformant, so a run shows faults next to passes.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use super::Profile;
use super::wire::Response;

/// Longer than the default --step-timeout (30 s).
pub const SLOW_DELAY: Duration = Duration::from_secs(35);

/// The size of a faults-huge body: five times the default --max-body.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;

/// Which operations answer wrongly under each profile, and how: data, so
/// a fault is keyed by the API model's operation id, not by a path.
const FAULTS: &str = include_str!("../../schemas/faults.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    operation: String,
    status: u16,
    content_type: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_hex: Option<String>,
    #[serde(default)]
    huge: bool,
}

type Table = HashMap<String, Vec<Fault>>;

fn parse(text: &str) -> Result<Table, String> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.remove("$comment");
    }
    let table: Table = serde_json::from_value(value).map_err(|e| e.to_string())?;
    for (profile, faults) in &table {
        super::Profile::parse(profile).map_err(|e| e.to_string())?;
        for fault in faults {
            if fault.huge
                && fault
                    .body
                    .as_deref()
                    .is_none_or(|b| b.matches(PADDING).count() != 1)
            {
                return Err(format!(
                    "{profile}: a `huge` fault of {} needs a `body` with one `{PADDING}`",
                    fault.operation
                ));
            }
            if fault.body_hex.as_deref().is_some_and(|h| hex(h).is_none()) {
                return Err(format!(
                    "{profile}: `body_hex` of {} is not hex",
                    fault.operation
                ));
            }
        }
    }
    Ok(table)
}

/// The shipped table; a unit test proves it parses, so the empty
/// fallback is never served.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse(FAULTS).unwrap_or_default())
}

fn hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The faulty answer of `operation_id` under `profile`, if it has one,
/// with its status (for the mock's record).
pub(crate) fn answer(profile: Profile, operation_id: &str) -> Option<(u16, Response)> {
    let fault = table()
        .get(profile.name())?
        .iter()
        .find(|f| f.operation == operation_id)?;
    let body = if fault.huge {
        huge_body(fault.body.as_deref().unwrap_or_default())
    } else if let Some(bytes) = fault.body_hex.as_deref().and_then(hex) {
        bytes
    } else {
        fault.body.clone().unwrap_or_default().into_bytes()
    };
    Some((
        fault.status,
        Response::new(fault.status).body(body, fault.content_type.as_str()),
    ))
}

/// Where a `huge` fault's body takes its padding.
const PADDING: &str = "{{padding}}";

/// `template` with [`HUGE_BYTES`] of padding at its marker (a valid
/// envelope in the shipped table).
fn huge_body(template: &str) -> Vec<u8> {
    let (head, tail) = template.split_once(PADDING).unwrap_or((template, ""));
    let mut body = Vec::with_capacity(HUGE_BYTES + head.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.resize(head.len() + HUGE_BYTES, b'x');
    body.extend_from_slice(tail.as_bytes());
    body
}

/// faults-reset: a bare TCP server that promises a body and hangs up after
/// a few bytes of it. hyper always completes its responses, so this one
/// is not a route of the mock's server.
pub(crate) async fn serve_resets(listener: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            // Out of descriptors, say: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the request head (bounded), then answer half of it.
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let partial = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{\"ok\":true,\"comm";
            let _ = socket.write_all(partial).await;
            let _ = socket.flush().await;
            // Dropping the socket closes it mid-body.
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_faults_parse_and_answer() {
        let table = parse(FAULTS).expect("schemas/faults.json parses");
        assert_eq!(table.len(), 3);
        let (status, garbage) =
            answer(Profile::FaultsGarbage, "getWhoami").expect("a garbage whoami");
        assert_eq!(status, 200);
        assert!(std::str::from_utf8(&garbage.body).is_err());
        let (status, _) = answer(Profile::Faults5xx, "listCreditPacks").expect("a 503");
        assert_eq!(status, 503);
        assert!(answer(Profile::Conformant, "listCreditPacks").is_none());
        assert!(parse(r#"{"faults-nope": []}"#).is_err());
        let (_, huge) = answer(Profile::FaultsHuge, "listCreditPacks").expect("a huge answer");
        assert!(huge.body.len() > HUGE_BYTES);
        let body: serde_json::Value = serde_json::from_slice(&huge.body).expect("valid JSON");
        assert_eq!(body["ok"], true);
        let unpadded = r#"{"faults-huge": [{"operation": "x", "status": 200, "content_type": "a", "huge": true, "body": "{}"}]}"#;
        assert!(parse(unpadded).is_err());
    }
}
