//! `http://` requests sent over hyper's HTTP/1 connections directly.
//!
//! A run whose every request is plain HTTP (the mock, a local server) does
//! not need reqwest's layers: its redirect and retry services, the pool's
//! extension maps and the response URL re-parsed per request were about a
//! fifth of a loopback step's CPU in `perf` (README, Performance). This
//! pool keeps idle keep-alive connections per `host:port` and hands each
//! request to one of them; a request a reused connection could not take (it
//! closed while idle) goes once more on a fresh one, never after any of it
//! was sent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::http::HttpRequest;

type Sender = http1::SendRequest<Full<Bytes>>;

/// A response as read: status, the two headers checks read, the body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Sender>>>,
    connect_timeout: Duration,
    user_agent: &'static str,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("plain::Pool")
    }
}

impl Pool {
    pub fn new(connect_timeout: Duration, user_agent: &'static str) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            connect_timeout,
            user_agent,
        }
    }

    /// Sends `req` (an `http://` URL) and reads at most `max_body` bytes of
    /// the answer. `Err` is a transport failure in the words of
    /// `http::transport_words`: "cannot connect", "the answer broke off or
    /// is malformed", "request failed".
    pub async fn send(&self, req: &HttpRequest, max_body: usize) -> Result<Answer, String> {
        let host = req
            .url
            .host_str()
            .ok_or_else(|| format!("request failed: `{}` names no host", req.url))?;
        let port = req.url.port_or_known_default().unwrap_or(80);
        let key = format!("{host}:{port}");
        let mut request = self.build(req, &key)?;
        // Twice at most: the second time on a fresh connection.
        for _ in 0..2 {
            let (mut sender, reused) = match self.take(&key).await {
                Some(sender) => (sender, true),
                None => (self.connect(port, req).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => return self.read(response, sender, &key, max_body).await,
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(words(failed.error())),
                },
            }
        }
        Err("request failed: the connection closed before the request was sent".into())
    }

    fn build(&self, req: &HttpRequest, host: &str) -> Result<hyper::Request<Full<Bytes>>, String> {
        let mut path = req.url.path().to_string();
        if let Some(query) = req.url.query() {
            path.push('?');
            path.push_str(query);
        }
        // Host as the URL has it: the default port is left out, as reqwest does.
        let host_header = match req.url.port() {
            Some(_) => host.to_string(),
            None => req.url.host_str().unwrap_or(host).to_string(),
        };
        let mut builder = hyper::Request::builder()
            .method(req.method.clone())
            .uri(path)
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::USER_AGENT, self.user_agent)
            .header(hyper::header::ACCEPT, "*/*");
        let body = match &req.json {
            Some(json) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(json).map_err(|e| format!("request failed: {e}"))?)
            }
            None => Bytes::new(),
        };
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(Full::new(body))
            .map_err(|e| format!("request failed: {e}"))
    }

    /// An idle connection to `key` that can take a request now.
    async fn take(&self, key: &str) -> Option<Sender> {
        loop {
            let mut sender = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.get_mut(key)?.pop()?
            };
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    async fn connect(&self, port: u16, req: &HttpRequest) -> Result<Sender, String> {
        let cannot = |why: String| format!("cannot connect: {}: {why}", req.url);
        // `host_str` brackets an IPv6 literal (`[::1]`), which no resolver
        // takes: connect to the address itself.
        let host = match req.url.host() {
            Some(url::Host::Ipv6(addr)) => addr.to_string(),
            Some(url::Host::Ipv4(addr)) => addr.to_string(),
            Some(url::Host::Domain(name)) => name.to_string(),
            None => return Err(cannot("the URL names no host".into())),
        };
        let stream = tokio::time::timeout(
            self.connect_timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| cannot("timed out".into()))?
        .map_err(|e| cannot(e.to_string()))?;
        // Requests are small and answered one at a time: send them now.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| cannot(e.to_string()))?;
        // The connection's own task: it ends when the sender is dropped or
        // the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn read(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
        sender: Sender,
        key: &str,
        max_body: usize,
    ) -> Result<Answer, String> {
        let status = response.status().as_u16();
        let header = |name: hyper::header::HeaderName| {
            response
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let location = header(hyper::header::LOCATION);
        let content_type = header(hyper::header::CONTENT_TYPE);
        let mut incoming = response.into_body();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            // Any error once the head is in: the body broke off.
            let frame = frame.map_err(|e| chain("the answer broke off or is malformed", &e))?;
            if let Ok(chunk) = frame.into_data() {
                if body.len() + chunk.len() > max_body {
                    // Dropped here, the connection closes: it is not reused.
                    return Err(format!(
                        "the body is larger than {max_body} bytes (--max-body); stopped reading"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
        }
        // Read to its end: the connection can take the next request.
        if !sender.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.entry(key.to_string()).or_default().push(sender);
        }
        Ok(Answer {
            status,
            location,
            content_type,
            body,
        })
    }
}

/// hyper's error chain in the words `http::transport_words` uses.
fn words(e: &hyper::Error) -> String {
    let first = if e.is_parse() || e.is_incomplete_message() || e.is_body_write_aborted() {
        "the answer broke off or is malformed"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    chain(first, e)
}

fn chain(first: &str, e: &hyper::Error) -> String {
    let mut out = first.to_string();
    out.push_str(": ");
    out.push_str(&e.to_string());
    super::http::push_sources(&mut out, e);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_ipv6_literal_url_is_reached() {
        let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
            println!("SKIPPED an_ipv6_literal_url_is_reached: this machine has no [::1]");
            return;
        };
        let port = listener.local_addr().expect("bound").port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut head = vec![0u8; 4096];
            let n = socket.read(&mut head).await.expect("a request");
            let request = String::from_utf8_lossy(&head[..n]).into_owned();
            let body = r#"{"ok":true}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.expect("answered");
            request
        });
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = HttpRequest {
            method: reqwest::Method::GET,
            url: format!("http://[::1]:{port}/healthz").parse().expect("url"),
            headers: Vec::new(),
            json: None,
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), pool.send(&req, 1 << 20))
            .await
            .expect("answered in time")
            .expect("sent");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, br#"{"ok":true}"#);
        let request = server.await.expect("server task");
        assert!(request.starts_with("GET /healthz HTTP/1.1"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains(&format!("host: [::1]:{port}")),
            "{request}"
        );
    }
}
