//! HTTP execution: one reqwest client per run (connection reuse), no
//! redirect following (checks see `Location` as sent), capped body reads.

use std::time::Duration;

use crate::check::Response;

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    /// Parsed once, when the step is prepared: reqwest takes it as it is.
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
}

/// Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    backend: Backend,
    timeout: Duration,
    max_body: usize,
}

#[derive(Debug, Clone)]
enum Backend {
    /// Any URL, TLS included.
    Reqwest(reqwest::Client),
    /// `http://` only, straight over hyper ([`super::plain`]).
    Plain(std::sync::Arc<super::plain::Pool>),
}

const USER_AGENT: &str = concat!("conform/", env!("CARGO_PKG_VERSION"));

/// Makes rustls use `ring` (reqwest is built without a provider of its own).
/// Call before building any reqwest client; later calls are no-ops.
pub fn install_tls_provider() {
    // Err only means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    pub fn new(timeout: Duration, max_body: usize) -> crate::Result<HttpClient> {
        Self::build(timeout, max_body, true)
    }

    /// A client for a run that sends only `http://` requests: no TLS roots
    /// to load (a few ms of start-up) and no reqwest layers per request; an
    /// `https://` request it were given fails with "request failed".
    pub fn plain_http(timeout: Duration, max_body: usize) -> crate::Result<HttpClient> {
        Ok(HttpClient {
            backend: Backend::Plain(std::sync::Arc::new(super::plain::Pool::new(
                timeout, USER_AGENT,
            ))),
            timeout,
            max_body,
        })
    }

    fn build(timeout: Duration, max_body: usize, tls_roots: bool) -> crate::Result<HttpClient> {
        install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .connect_timeout(timeout);
        if !tls_roots {
            builder = builder.tls_certs_only([]);
        }
        let client = builder
            .build()
            .map_err(|e| crate::Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpClient {
            backend: Backend::Reqwest(client),
            timeout,
            max_body,
        })
    }

    /// Sends one request. `Err` is a transport-level failure, in plain words.
    pub async fn send(&self, req: &HttpRequest) -> Result<Response, String> {
        match tokio::time::timeout(self.timeout, self.send_inner(req)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no complete answer within {}s (--step-timeout)",
                self.timeout.as_secs_f64()
            )),
        }
    }

    async fn send_inner(&self, req: &HttpRequest) -> Result<Response, String> {
        let client = match &self.backend {
            Backend::Reqwest(client) => client,
            Backend::Plain(pool) => {
                if req.url.scheme() != "http" {
                    return Err(format!(
                        "request failed: this run sends only http:// requests, not `{}`",
                        req.url
                    ));
                }
                let answer = pool.send(req, self.max_body).await?;
                return Ok(Response::from_body(
                    answer.status,
                    answer.location,
                    answer.content_type,
                    answer.body,
                ));
            }
        };
        let mut builder = client.request(req.method.clone(), req.url.clone());
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(json) = &req.json {
            builder = builder.json(json);
        }
        let mut resp = builder.send().await.map_err(|e| transport_words(&e))?;
        let status = resp.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let location = header(reqwest::header::LOCATION);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_words(&e))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(format!(
                    "the body is larger than {} bytes (--max-body); stopped reading",
                    self.max_body
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response::from_body(status, location, content_type, body))
    }
}

impl Response {
    /// An HTTP answer, its body parsed as JSON when it is.
    fn from_body(
        status: u16,
        location: Option<String>,
        content_type: Option<String>,
        body: Vec<u8>,
    ) -> Response {
        let json = if body.is_empty() {
            Err("empty body".to_string())
        } else {
            serde_json::from_slice(&body).map_err(|e| e.to_string())
        };
        Response {
            status,
            location,
            content_type,
            body,
            json,
            exit_code: None,
            stderr: Vec::new(),
        }
    }
}

/// reqwest's error chain, flattened to one line people can act on.
fn transport_words(e: &reqwest::Error) -> String {
    let mut words = if e.is_connect() {
        "cannot connect".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_body() || e.is_decode() {
        "the answer broke off or is malformed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        words.push_str(": ");
        words.push_str(&s.to_string());
        source = s.source();
    }
    words
}
