//! Fault profiles: a misbehaving server, so conform's own robustness can be
//! measured (what it reports, that it never panics or hangs, that memory
//! stays bounded). Each fault replaces the answer of some routes; the rest
//! of the mock stays conformant, so a run shows faults next to passes.

use std::time::Duration;

use super::Profile;
use super::wire::Response;

/// Longer than the default --step-timeout (30 s).
pub const SLOW_DELAY: Duration = Duration::from_secs(35);

/// The size of a faults-huge body: five times the default --max-body.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;

/// The faulty answer for `method path` under `profile`, if it has one,
/// with its status (for the mock's record).
pub(crate) fn answer(profile: Profile, method: &str, path: &str) -> Option<(u16, Response)> {
    let (status, template) = match (profile, method, path) {
        (Profile::Faults5xx, "GET", "/v1/credit-packs") => (503, json(
            503,
            br#"{"ok":false,"command":"credits packs list","trace_id":"trace_fault503","actor":null,"data":null,"warnings":[],"error":{"code":"SERVICE_UNAVAILABLE","message":"injected fault","retryable":true}}"#.to_vec(),
        )),
        (Profile::Faults5xx, "GET", "/v1/payment-methods") => (
            500,
            Response::new(500).body(b"Internal Server Error".to_vec(), "text/plain"),
        ),
        (Profile::Faults5xx, "POST", "/v1/credit-quotes") => (
            500,
            Response::new(500).body(Vec::new(), "application/json"),
        ),
        (Profile::FaultsGarbage, "GET", "/v1/payment-methods") => (
            200,
            Response::new(200)
                .body(b"<html><body>Gateway says hello</body></html>".to_vec(), "text/html"),
        ),
        (Profile::FaultsGarbage, "GET", "/v1/credit-packs") => (200, json(
            200,
            br#"{"ok":true,"command":"credits packs list","data":{"packs":[{"pack_id":"starter-"#.to_vec(),
        )),
        (Profile::FaultsGarbage, "GET", "/v1/whoami") => {
            (200, json(200, vec![0xff, 0xfe, b'{', 0x80, 0x00, b'}', 0xc3]))
        }
        (Profile::FaultsGarbage, "GET", "/v1/quota") => (
            200,
            Response::new(200).body(
                br#"{"ok":true,"command":"usage quota","trace_id":"trace_faultct","actor":null,"data":{"credits":{"balance":0}},"warnings":[],"error":null}"#.to_vec(),
                "text/plain",
            ),
        ),
        (Profile::FaultsGarbage, "GET", "/healthz") => (200, json(200, Vec::new())),
        (Profile::FaultsHuge, "GET", "/v1/credit-packs" | "/v1/payment-methods") => {
            (200, json(200, huge_body()))
        }
        _ => return None,
    };
    Some((status, template))
}

fn json(status: u16, body: Vec<u8>) -> Response {
    Response::json(status, body)
}

/// A valid envelope whose data carries 50 MB of padding.
fn huge_body() -> Vec<u8> {
    let head =
        br#"{"ok":true,"command":"huge","trace_id":"trace_huge","actor":null,"data":{"padding":""#;
    let tail = br#""},"warnings":[],"error":null}"#;
    let mut body = Vec::with_capacity(HUGE_BYTES + head.len() + tail.len());
    body.extend_from_slice(head);
    body.resize(head.len() + HUGE_BYTES, b'x');
    body.extend_from_slice(tail);
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
