//! `http://` requests over keep-alive TCP connections, framed here.
//!
//! A run whose every request is plain HTTP (the mock, a local server) needs
//! one request and one answer at a time per connection: no pipelining, no
//! upgrades, no streaming bodies. hyper's client machinery for the general
//! case (its dispatcher, body channel, header maps) was about two fifths
//! of a loopback step's CPU in `perf` (README, Performance). Here a
//! connection is a socket and two buffers; the answer's head is parsed by
//! `httparse` (hyper's own parser) and its body framed by content-length,
//! chunks or the connection's end.
//!
//! The pool keeps idle keep-alive connections per `host:port`. A reused
//! connection that the server closed while it idled is noticed before the
//! request goes out; one closed as the request went out, with no byte of
//! an answer, is retried once on a fresh connection when the method is
//! idempotent, as HTTP clients do (RFC 9110, 9.2.2).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Position;

use super::http::HttpRequest;

/// A response as read: status, the two headers checks read, the body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The most an answer's head (status line and headers) may take; hyper's
/// client allowed about as much.
const MAX_HEAD: usize = 64 * 1024;

/// Headers an answer may carry; more is refused as malformed.
const MAX_HEADERS: usize = 100;

/// What a read asks of the socket at least.
const READ_CHUNK: usize = 8 * 1024;

pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    connect_timeout: Duration,
    user_agent: &'static str,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("plain::Pool")
    }
}

/// One keep-alive connection and its buffers, kept across requests so a
/// step allocates nothing for its request or its answer's head.
struct Conn {
    stream: TcpStream,
    /// The request being sent.
    out: Vec<u8>,
    /// Bytes read and not yet used.
    input: Vec<u8>,
}

/// Why an exchange failed: `Unanswered` (the connection ended before any
/// byte of an answer came back) may be retried on a fresh connection.
enum Failure {
    Unanswered(String),
    Other(String),
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
        if req.url.host_str().is_none() {
            return Err(format!("request failed: `{}` names no host", req.url));
        }
        // `host[:port]` as the URL has it (the default port left out, as
        // reqwest does): the Host header, and the pool's key.
        let authority = &req.url[Position::BeforeHost..Position::AfterPort];
        let body = match &req.json {
            Some(json) => {
                Some(serde_json::to_vec(json).map_err(|e| format!("request failed: {e}"))?)
            }
            None => None,
        };
        let retry = idempotent(&req.method);
        for attempt in 0..2 {
            let (mut conn, reused) = match self.take(authority) {
                Some(conn) => (conn, true),
                None => (self.connect(req).await?, false),
            };
            self.write_head(&mut conn.out, req, authority, body.as_deref())?;
            match exchange(&mut conn, req.method == Method::HEAD, max_body).await {
                Ok((answer, keep)) => {
                    if keep {
                        self.put(authority, conn);
                    }
                    return Ok(answer);
                }
                Err(Failure::Unanswered(_)) if reused && retry && attempt == 0 => continue,
                Err(Failure::Unanswered(why) | Failure::Other(why)) => return Err(why),
            }
        }
        Err("request failed: the connection closed before the request was answered".into())
    }

    /// The request's head and body into `out`, in one buffer so it goes out
    /// in one write.
    fn write_head(
        &self,
        out: &mut Vec<u8>,
        req: &HttpRequest,
        authority: &str,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        use hyper::header::{HeaderName, HeaderValue};
        out.clear();
        let target = &req.url[Position::BeforePath..Position::AfterQuery];
        for part in [
            req.method.as_str(),
            " ",
            target,
            " HTTP/1.1\r\nhost: ",
            authority,
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        for part in ["\r\nuser-agent: ", self.user_agent, "\r\naccept: */*\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        if body.is_some() {
            out.extend_from_slice(b"content-type: application/json\r\n");
        }
        // A body's length, and an explicit zero where a body is expected,
        // as hyper sent them.
        let length = body.map_or(0, <[u8]>::len);
        if body.is_some() || matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &req.headers {
            // Checked as hyper checked them: no name or value can end the
            // head early or smuggle a header in.
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("request failed: header `{name}`: {e}"))?;
            HeaderValue::from_str(value)
                .map_err(|e| format!("request failed: header `{name}`: {e}"))?;
            // Appended, as before: a suite's own header adds to ours.
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = body {
            out.extend_from_slice(body);
        }
        Ok(())
    }

    /// An idle connection to `authority` that is still open; one the
    /// server closed (or wrote to unasked) while it idled is dropped.
    fn take(&self, authority: &str) -> Option<Conn> {
        loop {
            let conn = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.get_mut(authority)?.pop()?
            };
            let mut probe = [0u8; 1];
            // Anything but "nothing to read yet" (closed, an error, bytes
            // nobody asked for): dropped, and the next one tried.
            if let Err(e) = conn.stream.try_read(&mut probe)
                && e.kind() == std::io::ErrorKind::WouldBlock
            {
                return Some(conn);
            }
        }
    }

    fn put(&self, authority: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        match idle.get_mut(authority) {
            Some(conns) => conns.push(conn),
            None => {
                idle.insert(authority.to_owned(), vec![conn]);
            }
        }
    }

    async fn connect(&self, req: &HttpRequest) -> Result<Conn, String> {
        let cannot = |why: String| format!("cannot connect: {}: {why}", req.url);
        let port = req.url.port_or_known_default().unwrap_or(80);
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
            TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| cannot("timed out".into()))?
        .map_err(|e| cannot(e.to_string()))?;
        // Requests are small and answered one at a time: send them now.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            out: Vec::new(),
            input: Vec::with_capacity(READ_CHUNK),
        })
    }
}

/// Methods a request may be sent again for (RFC 9110, 9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

const BROKE: &str = "the answer broke off or is malformed";

/// How the answer's body ends.
enum Framing {
    None,
    Length(usize),
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// The answer's head, as far as this client reads it.
struct Head {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    framing: Framing,
    /// The connection may take another request after this answer.
    keep_alive: bool,
}

/// Sends `conn.out` and reads the answer: the answer, and whether the
/// connection can be used again.
async fn exchange(
    conn: &mut Conn,
    head_request: bool,
    max_body: usize,
) -> Result<(Answer, bool), Failure> {
    conn.input.clear();
    if let Err(e) = conn.stream.write_all(&conn.out).await {
        return Err(Failure::Unanswered(format!("request failed: {e}")));
    }
    let head = loop {
        let head = read_head(conn).await?;
        // Informational answers (100 Continue, 103 Early Hints) precede
        // the one that counts; 101 would switch protocols, and ends here.
        if !(100..200).contains(&head.status) || head.status == 101 {
            break head;
        }
    };
    let framing = if head_request || matches!(head.status, 101 | 204 | 304) {
        Framing::None
    } else {
        head.framing
    };
    let mut keep = head.keep_alive && head.status != 101;
    let body = match framing {
        Framing::None => Vec::new(),
        Framing::Length(length) => read_length(conn, length, max_body).await?,
        Framing::Chunked => read_chunked(conn, max_body).await?,
        Framing::Close => {
            keep = false;
            read_to_close(conn, max_body).await?
        }
    };
    // Bytes past the answer: nothing asked for them, so the connection's
    // next answer could not be told apart from them.
    keep &= conn.input.is_empty();
    let answer = Answer {
        status: head.status,
        location: head.location,
        content_type: head.content_type,
        body,
    };
    Ok((answer, keep))
}

/// Reads more of the answer into `conn.input`; `Ok(0)` when the
/// connection closed.
async fn fill(conn: &mut Conn) -> std::io::Result<usize> {
    conn.input.reserve(READ_CHUNK);
    conn.stream.read_buf(&mut conn.input).await
}

async fn read_head(conn: &mut Conn) -> Result<Head, Failure> {
    loop {
        if !conn.input.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&conn.input) {
                Ok(httparse::Status::Complete(length)) => {
                    let head = head_of(&response)?;
                    conn.input.drain(..length);
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) if conn.input.len() < MAX_HEAD => {}
                Ok(httparse::Status::Partial) => {
                    return Err(Failure::Other(format!(
                        "{BROKE}: the answer's head is over {MAX_HEAD} bytes"
                    )));
                }
                Err(e) => return Err(Failure::Other(format!("{BROKE}: {e}"))),
            }
        }
        let had = conn.input.len();
        match fill(conn).await {
            Ok(0) if had == 0 => {
                return Err(Failure::Unanswered(format!(
                    "{BROKE}: the connection closed before any answer"
                )));
            }
            Ok(0) => {
                return Err(Failure::Other(format!(
                    "{BROKE}: the connection closed in the answer's head"
                )));
            }
            Ok(_) => {}
            Err(e) if had == 0 && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Err(Failure::Unanswered(format!("{BROKE}: {e}")));
            }
            Err(e) => return Err(Failure::Other(format!("{BROKE}: {e}"))),
        }
    }
}

/// What [`Head`] keeps of a parsed head.
fn head_of(response: &httparse::Response) -> Result<Head, Failure> {
    let malformed = |why: &str| Failure::Other(format!("{BROKE}: {why}"));
    let status = response.code.ok_or_else(|| malformed("no status"))?;
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let (mut location, mut content_type, mut length) = (None, None, None::<usize>);
    let (mut chunked, mut close, mut keep_alive) = (false, false, false);
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            // Digits only (RFC 9110, 8.6): `parse` would also take a `+`.
            let digits = header.value.trim_ascii();
            let value = std::str::from_utf8(digits)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| malformed("a content-length that is not a number"))?;
            if length.is_some_and(|l| l != value) {
                return Err(malformed("two different content-lengths"));
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked only as the last coding frames the body.
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("location") && location.is_none() {
            location = Some(text(header.value));
        } else if name.eq_ignore_ascii_case("content-type") && content_type.is_none() {
            content_type = Some(text(header.value));
        }
    }
    // Chunked wins over a length (RFC 9112, 6.3).
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(length)) => Framing::Length(length),
        (false, None) => Framing::Close,
    };
    // HTTP/1.1 keeps the connection unless told not to; 1.0 only if asked.
    let keep_alive = !close && (response.version == Some(1) || keep_alive);
    Ok(Head {
        status,
        location,
        content_type,
        framing,
        keep_alive,
    })
}

fn too_large(max_body: usize) -> Failure {
    // The caller drops the connection: it is not reused.
    Failure::Other(format!(
        "the body is larger than {max_body} bytes (--max-body); stopped reading"
    ))
}

fn broke_off(e: &std::io::Error) -> Failure {
    Failure::Other(format!("{BROKE}: {e}"))
}

async fn read_length(conn: &mut Conn, length: usize, max_body: usize) -> Result<Vec<u8>, Failure> {
    if length > max_body {
        return Err(too_large(max_body));
    }
    let buffered = conn.input.len().min(length);
    let mut body = Vec::with_capacity(length);
    body.extend(conn.input.drain(..buffered));
    // The rest straight into the body: a large one is not copied twice.
    body.resize(length, 0);
    let mut filled = buffered;
    while filled < length {
        match conn.stream.read(&mut body[filled..]).await {
            Ok(0) => {
                return Err(Failure::Other(format!(
                    "{BROKE}: the connection closed after {filled} of {length} body bytes"
                )));
            }
            Ok(n) => filled += n,
            Err(e) => return Err(broke_off(&e)),
        }
    }
    Ok(body)
}

/// Ensures `conn.input` holds at least `need` bytes.
async fn want(conn: &mut Conn, need: usize) -> Result<(), Failure> {
    while conn.input.len() < need {
        match fill(conn).await {
            Ok(0) => {
                return Err(Failure::Other(format!(
                    "{BROKE}: the connection closed inside a chunked body"
                )));
            }
            Ok(_) => {}
            Err(e) => return Err(broke_off(&e)),
        }
    }
    Ok(())
}

async fn read_chunked(conn: &mut Conn, max_body: usize) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    loop {
        let (consumed, size) = loop {
            match httparse::parse_chunk_size(&conn.input) {
                Ok(httparse::Status::Complete(found)) => break found,
                Ok(httparse::Status::Partial) if conn.input.len() < MAX_HEAD => {
                    let need = conn.input.len() + 1;
                    want(conn, need).await?;
                }
                _ => {
                    return Err(Failure::Other(format!("{BROKE}: a malformed chunk size")));
                }
            }
        };
        conn.input.drain(..consumed);
        let size = usize::try_from(size).map_err(|_| too_large(max_body))?;
        if size == 0 {
            return skip_trailers(conn).await.map(|()| body);
        }
        if body.len().saturating_add(size) > max_body {
            return Err(too_large(max_body));
        }
        want(conn, size + 2).await?;
        if &conn.input[size..size + 2] != b"\r\n" {
            return Err(Failure::Other(format!(
                "{BROKE}: a chunk does not end where its size says"
            )));
        }
        body.extend(conn.input.drain(..size));
        conn.input.drain(..2);
    }
}

/// The lines after the last chunk, up to the empty one that ends them.
async fn skip_trailers(conn: &mut Conn) -> Result<(), Failure> {
    loop {
        let end = loop {
            if let Some(end) = conn.input.windows(2).position(|w| w == b"\r\n") {
                break end;
            }
            if conn.input.len() >= MAX_HEAD {
                return Err(Failure::Other(format!(
                    "{BROKE}: trailers over {MAX_HEAD} bytes"
                )));
            }
            let need = conn.input.len() + 1;
            want(conn, need).await?;
        };
        conn.input.drain(..end + 2);
        if end == 0 {
            return Ok(());
        }
    }
}

async fn read_to_close(conn: &mut Conn, max_body: usize) -> Result<Vec<u8>, Failure> {
    loop {
        if conn.input.len() > max_body {
            return Err(too_large(max_body));
        }
        match fill(conn).await {
            Ok(0) => return Ok(std::mem::take(&mut conn.input)),
            Ok(_) => {}
            Err(e) => return Err(broke_off(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A listener on an ephemeral loopback port, and that port.
    pub(super) async fn listen() -> (tokio::net::TcpListener, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("bound").port();
        (listener, port)
    }

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

    const OK_BODY: &str = r#"{"ok":true}"#;

    fn healthz(port: u16) -> HttpRequest {
        HttpRequest {
            method: reqwest::Method::GET,
            url: format!("http://127.0.0.1:{port}/healthz")
                .parse()
                .expect("url"),
            headers: Vec::new(),
            json: None,
        }
    }

    /// Answers `per_connection[i]` requests on the i-th connection, then
    /// closes it (`close_header`: saying so in the last answer); returns
    /// how many requests each connection got.
    async fn serve(
        listener: tokio::net::TcpListener,
        per_connection: Vec<usize>,
        close_header: bool,
    ) -> Vec<usize> {
        let mut seen = Vec::new();
        for answers in per_connection {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut got = 0;
            let mut held = Vec::new();
            let mut buf = [0u8; 4096];
            while got < answers {
                let n = socket.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                held.extend_from_slice(&buf[..n]);
                while let Some(end) = held.windows(4).position(|w| w == b"\r\n\r\n") {
                    held.drain(..end + 4);
                    got += 1;
                    let close = if close_header && got == answers {
                        "connection: close\r\n"
                    } else {
                        ""
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\n{close}content-type: application/json\r\ncontent-length: {}\r\n\r\n{OK_BODY}",
                        OK_BODY.len()
                    );
                    socket.write_all(answer.as_bytes()).await.expect("answered");
                }
            }
            seen.push(got);
            // Dropped here: the server closes this connection.
        }
        seen
    }

    async fn send_n(pool: &Pool, port: u16, n: usize) {
        for i in 0..n {
            let answer =
                tokio::time::timeout(Duration::from_secs(10), pool.send(&healthz(port), 1 << 20))
                    .await
                    .expect("answered in time")
                    .unwrap_or_else(|e| panic!("request {i} failed: {e}"));
            assert_eq!(answer.status, 200);
            assert_eq!(answer.body, OK_BODY.as_bytes());
            // Time for a close to reach the client while the connection idles.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_kept_alive_connection_serves_every_request() {
        let (listener, port) = listen().await;
        let server = tokio::spawn(serve(listener, vec![5], false));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        send_n(&pool, port, 5).await;
        assert_eq!(
            server.await.expect("server task"),
            vec![5],
            "one connection for all five"
        );
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_not_reused() {
        let (listener, port) = listen().await;
        // Two answers on the first connection, then it is closed with no
        // word; the third request must go on a fresh one.
        let server = tokio::spawn(serve(listener, vec![2, 2], false));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        send_n(&pool, port, 4).await;
        assert_eq!(server.await.expect("server task"), vec![2, 2]);
    }

    #[tokio::test]
    async fn an_answer_saying_connection_close_ends_the_connection() {
        let (listener, port) = listen().await;
        let server = tokio::spawn(serve(listener, vec![1, 1, 1], true));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        send_n(&pool, port, 3).await;
        assert_eq!(server.await.expect("server task"), vec![1, 1, 1]);
    }

    #[tokio::test]
    async fn a_body_over_the_cap_is_refused_and_its_connection_not_reused() {
        let (listener, port) = listen().await;
        // The first connection would take a second request: it must not get one.
        let server = tokio::spawn(serve(listener, vec![2, 1], false));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let err = pool
            .send(&healthz(port), 4)
            .await
            .err()
            .expect("a body of 11 bytes is over a cap of 4");
        assert!(err.contains("--max-body"), "{err}");
        send_n(&pool, port, 1).await;
        assert_eq!(
            server.await.expect("server task"),
            vec![1, 1],
            "a fresh connection after the cap"
        );
    }
}

#[cfg(test)]
mod framing_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What a scripted connection does for each request it reads.
    #[derive(Clone)]
    enum Reply {
        /// Writes these bytes, a few at a time when `trickle`.
        Send(&'static str, bool),
        /// Closes the connection without a word.
        Close,
    }

    /// Serves one connection per entry of `script`, each answering its
    /// requests with its replies in turn, then closing; returns the
    /// requests each connection read, as text.
    async fn scripted(
        listener: tokio::net::TcpListener,
        script: Vec<Vec<Reply>>,
    ) -> Vec<Vec<String>> {
        let mut seen = Vec::new();
        for replies in script {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut requests = Vec::new();
            let mut held = Vec::new();
            'replies: for reply in replies {
                // One whole request: its head, and its body by content-length.
                let request = loop {
                    if let Some(end) = held.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&held[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .map_or(0, |v| v.trim().parse().expect("a length"));
                        if held.len() >= end + 4 + length {
                            let all: Vec<u8> = held.drain(..end + 4 + length).collect();
                            break String::from_utf8_lossy(&all).into_owned();
                        }
                    }
                    let mut buf = [0u8; 4096];
                    let n = socket.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break 'replies;
                    }
                    held.extend_from_slice(&buf[..n]);
                };
                requests.push(request);
                match reply {
                    Reply::Close => break,
                    Reply::Send(bytes, false) => {
                        socket.write_all(bytes.as_bytes()).await.expect("answered");
                    }
                    Reply::Send(bytes, true) => {
                        for piece in bytes.as_bytes().chunks(3) {
                            socket.write_all(piece).await.expect("answered");
                            socket.flush().await.expect("flushed");
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            }
            seen.push(requests);
        }
        seen
    }

    use super::tests::listen;

    fn request(method: Method, port: u16, json: Option<serde_json::Value>) -> HttpRequest {
        HttpRequest {
            method,
            url: format!("http://127.0.0.1:{port}/v1/things?a=1#frag")
                .parse()
                .expect("url"),
            headers: Vec::new(),
            json,
        }
    }

    async fn send(pool: &Pool, req: &HttpRequest, max_body: usize) -> Result<Answer, String> {
        tokio::time::timeout(Duration::from_secs(10), pool.send(req, max_body))
            .await
            .expect("answered in time")
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    #[tokio::test]
    async fn a_chunked_body_with_extensions_and_trailers_is_read_whole() {
        let (listener, port) = listen().await;
        let chunked = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\n{\"a\":\r\n3\r\n1}\n\r\n0\r\nx-trailer: t\r\n\r\n";
        let replies = vec![Reply::Send(chunked, true), Reply::Send(OK, false)];
        let server = tokio::spawn(scripted(listener, vec![replies]));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = request(Method::GET, port, None);
        let answer = send(&pool, &req, 1 << 20).await.expect("answered");
        assert_eq!(answer.body, b"{\"a\":1}\n");
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        // The whole chunked answer was taken: the next one reads clean.
        assert_eq!(send(&pool, &req, 1 << 20).await.expect("again").body, b"ok");
        let seen = server.await.expect("server");
        assert_eq!(seen.len(), 1, "one connection for both");
        // The target is the path and query; the fragment never goes out.
        assert!(
            seen[0][0].starts_with("GET /v1/things?a=1 HTTP/1.1\r\n"),
            "{}",
            seen[0][0]
        );
        assert!(seen[0][0].contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")));
    }

    #[tokio::test]
    async fn a_trickled_answer_and_an_informational_one_before_it_are_read() {
        let (listener, port) = listen().await;
        let answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /v1/things/7\r\nContent-Length: 11\r\n\r\n{\"id\":\"7\"}\n";
        let server = tokio::spawn(scripted(listener, vec![vec![Reply::Send(answer, true)]]));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let got = send(&pool, &request(Method::GET, port, None), 1 << 20)
            .await
            .expect("answered");
        assert_eq!(got.status, 201);
        assert_eq!(got.location.as_deref(), Some("/v1/things/7"));
        assert_eq!(got.body, b"{\"id\":\"7\"}\n");
        server.await.expect("server");
    }

    #[tokio::test]
    async fn a_head_answer_has_no_body_and_keeps_its_connection() {
        let (listener, port) = listen().await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n";
        let replies = vec![Reply::Send(head, false), Reply::Send(OK, false)];
        let server = tokio::spawn(scripted(listener, vec![replies]));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let got = send(&pool, &request(Method::HEAD, port, None), 1 << 20)
            .await
            .expect("answered");
        assert!(got.body.is_empty());
        let next = send(&pool, &request(Method::GET, port, None), 1 << 20).await;
        assert_eq!(next.expect("again").body, b"ok");
        assert_eq!(server.await.expect("server").len(), 1);
    }

    #[tokio::test]
    async fn an_answer_without_a_length_is_read_to_the_close_and_not_reused() {
        let (listener, port) = listen().await;
        let unframed = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end";
        let script = vec![
            vec![Reply::Send(unframed, false)],
            vec![Reply::Send(OK, false)],
        ];
        let server = tokio::spawn(scripted(listener, script));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = request(Method::GET, port, None);
        assert_eq!(
            send(&pool, &req, 1 << 20).await.expect("answered").body,
            b"until the end"
        );
        assert_eq!(send(&pool, &req, 1 << 20).await.expect("again").body, b"ok");
        assert_eq!(server.await.expect("server").len(), 2, "a fresh connection");
    }

    /// The error a GET gets when the server sends `answer` and closes.
    async fn refused(answer: &'static str, max_body: usize) -> String {
        let (listener, port) = listen().await;
        let server = tokio::spawn(scripted(listener, vec![vec![Reply::Send(answer, false)]]));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let err = send(&pool, &request(Method::GET, port, None), max_body)
            .await
            .err()
            .unwrap_or_else(|| panic!("no error for {answer:?}"));
        server.await.expect("server");
        err
    }

    #[tokio::test]
    async fn garbage_instead_of_a_head_is_a_broken_answer() {
        let err = refused("\u{1}\u{2}not http at all\r\n\r\n", 1 << 20).await;
        assert!(
            err.starts_with("the answer broke off or is malformed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_signed_content_length_is_a_broken_answer() {
        let err = refused("HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\nok", 1 << 20).await;
        assert!(err.contains("content-length that is not a number"), "{err}");
    }

    #[tokio::test]
    async fn a_body_cut_short_is_a_broken_answer() {
        // The connection closes once the short answer is out.
        let short = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this";
        let err = refused(short, 1 << 20).await;
        assert!(err.contains("closed after 9 of 100 body bytes"), "{err}");
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_cap_is_refused() {
        let big = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
        // 8 bytes over a cap of 6.
        let err = refused(big, 6).await;
        assert!(err.contains("--max-body"), "{err}");
    }

    #[tokio::test]
    async fn a_json_body_goes_out_with_its_type_and_length() {
        let (listener, port) = listen().await;
        let server = tokio::spawn(scripted(listener, vec![vec![Reply::Send(OK, false)]]));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = request(Method::POST, port, Some(serde_json::json!({"name": "x"})));
        send(&pool, &req, 1 << 20).await.expect("answered");
        let seen = server.await.expect("server");
        let sent = &seen[0][0];
        assert!(
            sent.starts_with("POST /v1/things?a=1 HTTP/1.1\r\n"),
            "{sent}"
        );
        assert!(
            sent.contains("\r\ncontent-type: application/json\r\n"),
            "{sent}"
        );
        assert!(sent.contains("\r\ncontent-length: 12\r\n"), "{sent}");
        assert!(sent.ends_with("\r\n\r\n{\"name\":\"x\"}"), "{sent}");
    }

    #[tokio::test]
    async fn a_header_that_would_split_the_head_is_refused_before_sending() {
        let (listener, port) = listen().await;
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let mut req = request(Method::GET, port, None);
        req.headers
            .push(("x-note".into(), "a\r\nx-injected: yes".into()));
        let err = send(&pool, &req, 1 << 20).await.err().expect("refused");
        assert!(err.starts_with("request failed: header `x-note`"), "{err}");
        // Nothing was written: the connection made for it got no request.
        let (mut socket, _) = listener.accept().await.expect("the connection");
        drop(pool);
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).await.expect("read");
        assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    }

    #[tokio::test]
    async fn a_get_the_reused_connection_dropped_unanswered_goes_again_once() {
        let (listener, port) = listen().await;
        // The first connection answers once, then reads the next request
        // and closes without a word, as a server whose keep-alive ran out
        // does; the second answers.
        let script = vec![
            vec![Reply::Send(OK, false), Reply::Close],
            vec![Reply::Send(OK, false)],
        ];
        let server = tokio::spawn(scripted(listener, script));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = request(Method::GET, port, None);
        send(&pool, &req, 1 << 20).await.expect("first");
        assert_eq!(
            send(&pool, &req, 1 << 20).await.expect("sent again").body,
            b"ok"
        );
        let seen = server.await.expect("server");
        assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
    }

    #[tokio::test]
    async fn a_post_the_reused_connection_dropped_unanswered_is_not_sent_again() {
        let (listener, port) = listen().await;
        let script = vec![vec![Reply::Send(OK, false), Reply::Close]];
        let server = tokio::spawn(scripted(listener, script));
        let pool = Pool::new(Duration::from_secs(5), "conform-test");
        let req = request(Method::POST, port, Some(serde_json::json!({})));
        send(&pool, &req, 1 << 20).await.expect("first");
        let err = send(&pool, &req, 1 << 20).await.err().expect("not retried");
        assert!(err.contains("closed before any answer"), "{err}");
        assert_eq!(
            server.await.expect("server").len(),
            1,
            "no second connection"
        );
    }
}
