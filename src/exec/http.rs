//! HTTP execution: one reqwest client per run (connection reuse), no
//! redirect following (checks see `Location` as sent), capped body reads.

use std::sync::{Arc, OnceLock};
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

/// Cheap to clone: clones share their connection pools.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// `http://` requests, straight over hyper ([`super::plain`]); `None`
    /// when a proxy is configured, which reqwest honours.
    plain: Option<Arc<super::plain::Pool>>,
    /// Every other request. Built on first use: loading the system's TLS
    /// roots costs a run that sends only `http://` a few ms for nothing.
    tls: Arc<OnceLock<Result<reqwest::Client, String>>>,
    tls_roots: bool,
    timeout: Duration,
    max_body: usize,
}

const USER_AGENT: &str = concat!("conform/", env!("CARGO_PKG_VERSION"));

/// Makes rustls use `ring` (reqwest is built without a provider of its own).
/// Call before building any reqwest client; later calls are no-ops.
pub fn install_tls_provider() {
    // Err only means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the environment names a proxy for plain HTTP (reqwest's
/// system-proxy variables).
fn http_proxy_configured() -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

impl HttpClient {
    pub fn new(timeout: Duration, max_body: usize) -> crate::Result<HttpClient> {
        Ok(Self::with_roots(timeout, max_body, true))
    }

    /// A client for a run that sends only `http://` requests: it never
    /// loads the system's TLS roots, so any `https://` request it were
    /// given would fail certificate checks.
    pub fn plain_http(timeout: Duration, max_body: usize) -> crate::Result<HttpClient> {
        Ok(Self::with_roots(timeout, max_body, false))
    }

    fn with_roots(timeout: Duration, max_body: usize, tls_roots: bool) -> HttpClient {
        HttpClient {
            plain: (!http_proxy_configured())
                .then(|| Arc::new(super::plain::Pool::new(timeout, USER_AGENT))),
            tls: Arc::new(OnceLock::new()),
            tls_roots,
            timeout,
            max_body,
        }
    }

    /// The reqwest client, built the first time a request needs it.
    fn reqwest(&self) -> Result<&reqwest::Client, String> {
        let built = self.tls.get_or_init(|| {
            install_tls_provider();
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(USER_AGENT)
                .connect_timeout(self.timeout);
            if !self.tls_roots {
                builder = builder.tls_certs_only([]);
            }
            builder
                .build()
                .map_err(|e| format!("request failed: cannot build the HTTP client: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
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
        if let Some(pool) = self.plain.as_ref().filter(|_| req.url.scheme() == "http") {
            let answer = pool.send(req, self.max_body).await?;
            return Ok(Response::from_body(
                answer.status,
                answer.location,
                answer.content_type,
                answer.body,
            ));
        }
        let client = self.reqwest()?;
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
    push_sources(&mut words, e);
    words
}

/// Appends `e`'s causes, each after ": ", so a transport message names
/// the root (a refused connection, a reset) and not only the outer layer.
/// Shared by the reqwest and the plain-http paths.
pub(super) fn push_sources(words: &mut String, e: &(dyn std::error::Error + 'static)) {
    let mut source = e.source();
    while let Some(s) = source {
        words.push_str(": ");
        words.push_str(&s.to_string());
        source = s.source();
    }
}
