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
//!
//! A connection has no task of its own: the request using it polls it
//! (see [`drive`]), so a step costs no wake-ups between tasks, which on
//! the multi-thread runtime were often wake-ups of another thread.

use std::collections::HashMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::http::HttpRequest;

type Sender = http1::SendRequest<Full<Bytes>>;
type Connection = http1::Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>;

/// One keep-alive connection: the handle requests go in by, and the
/// connection's own future, which whoever uses the handle polls; `None`
/// once it ended.
struct Conn {
    sender: Sender,
    connection: Option<Connection>,
    waker: Arc<LocalWaker>,
}

/// A response as read: status, the two headers checks read, the body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    connect_timeout: Duration,
    /// Made once per pool; cloning a static value copies no bytes.
    user_agent: hyper::header::HeaderValue,
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
            user_agent: hyper::header::HeaderValue::from_static(user_agent),
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
            let (mut conn, reused) = match self.take(&key).await {
                Some(conn) => (conn, true),
                None => (self.connect(port, req).await?, false),
            };
            let Conn {
                sender,
                connection,
                waker,
            } = &mut conn;
            // Called when first polled, inside `drive`: handing the request
            // over wakes the connection, which `drive` then polls at once.
            let sent = drive(connection, waker, async {
                sender.try_send_request(request).await
            });
            match sent.await {
                Ok(response) => {
                    let answer = drive(connection, waker, read(response, max_body)).await;
                    // Read to its end: the connection can take the next request.
                    if answer.is_ok() && conn.connection.is_some() {
                        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                        idle.entry(key).or_default().push(conn);
                    }
                    return answer;
                }
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(words(failed.error())),
                },
            }
        }
        Err("request failed: the connection closed before the request was sent".into())
    }

    fn build(&self, req: &HttpRequest, host: &str) -> Result<hyper::Request<Full<Bytes>>, String> {
        use hyper::header::{self, HeaderName, HeaderValue};
        let failed = |e: &dyn std::fmt::Display| format!("request failed: {e}");
        // Straight into the parts: the builder re-checks every name and
        // value, ours are constants or were checked at suite load.
        let path = match req.url.query() {
            None => hyper::Uri::try_from(req.url.path()),
            Some(query) => hyper::Uri::try_from(format!("{}?{query}", req.url.path())),
        }
        .map_err(|e| failed(&e))?;
        // Host as the URL has it: the default port is left out, as reqwest does.
        let host_header = match req.url.port() {
            Some(_) => host,
            None => req.url.host_str().unwrap_or(host),
        };
        let body = match &req.json {
            Some(json) => Bytes::from(serde_json::to_vec(json).map_err(|e| failed(&e))?),
            None => Bytes::new(),
        };
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = path;
        let headers = request.headers_mut();
        headers.reserve(4 + req.headers.len());
        headers.insert(
            header::HOST,
            HeaderValue::from_str(host_header).map_err(|e| failed(&e))?,
        );
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        if req.json.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| failed(&e))?;
            let value = HeaderValue::from_str(value).map_err(|e| failed(&e))?;
            // Appended, as the builder did: a suite's own header adds to ours.
            headers.append(name, value);
        }
        Ok(request)
    }

    /// An idle connection to `key` that can take a request now; one that
    /// ended while idle (the server closed it) is dropped.
    async fn take(&self, key: &str) -> Option<Conn> {
        loop {
            let conn = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.get_mut(key)?.pop()?
            };
            if let Some(conn) = conn.ready().await {
                return Some(conn);
            }
        }
    }

    async fn connect(&self, port: u16, req: &HttpRequest) -> Result<Conn, String> {
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
        // One flat buffer per request: head and a small body go out in one
        // plain write instead of writev's list of slices.
        let (sender, connection) = http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| cannot(e.to_string()))?;
        Ok(Conn {
            sender,
            connection: Some(connection),
            waker: Arc::default(),
        })
    }
}

impl Conn {
    /// Polls the connection until its handle takes a request; `None` when
    /// the connection ended instead.
    async fn ready(mut self) -> Option<Conn> {
        let Conn {
            sender,
            connection,
            waker,
        } = &mut self;
        let ready = drive(
            connection,
            waker,
            std::future::poll_fn(|cx| sender.poll_ready(cx)),
        );
        let ready = ready.await.is_ok() && self.connection.is_some();
        ready.then_some(self)
    }
}

/// Polls of `work` and the connection per poll of [`drive`] at most: a
/// future that wakes itself at every poll (tokio's cooperative budget does,
/// once spent) would otherwise keep `drive` from ever returning.
const PASSES: usize = 4;

/// Runs `work` (a request on `connection`, or the read of its answer) in
/// this task, polling the connection alongside it: the connection writes
/// the request and feeds the answer only while polled. A connection that
/// ends is dropped at once, which fails whatever `work` still waits for
/// (hyper answers it "connection closed"), and is `None` afterwards.
///
/// Both are polled with `waker`: while `drive` polls, a wake-up one of
/// them gives the other (the request handed over, the answer delivered)
/// only asks for one more pass. Passed on to the task, it would be the
/// task waking itself, which tokio's multi-thread runtime treats as a
/// yield that also wakes another worker thread.
async fn drive<T>(
    connection: &mut Option<Connection>,
    waker: &Arc<LocalWaker>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = pin!(work);
    let local = Waker::from(Arc::clone(waker));
    std::future::poll_fn(|cx| {
        waker.follow(cx.waker());
        let mut inner = Context::from_waker(&local);
        waker.polling.store(true, SeqCst);
        for _ in 0..PASSES {
            waker.woken.store(false, SeqCst);
            if let Poll::Ready(done) = work.as_mut().poll(&mut inner) {
                waker.polling.store(false, SeqCst);
                return Poll::Ready(done);
            }
            if let Some(conn) = connection.as_mut() {
                if Pin::new(conn).poll(&mut inner).is_ready() {
                    *connection = None;
                }
            }
            if !waker.woken.load(SeqCst) {
                break;
            }
        }
        waker.polling.store(false, SeqCst);
        // Woken during the last pass, or before `polling` was cleared:
        // nothing passed that on.
        if waker.woken.swap(false, SeqCst) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

/// The waker a connection and its request are polled with (see [`drive`]):
/// passes a wake-up on to the task unless `drive` is polling right now.
#[derive(Default)]
struct LocalWaker {
    polling: AtomicBool,
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl LocalWaker {
    /// Wake-ups from now on go to `task` (the request's task may change
    /// between polls, and between requests).
    fn follow(&self, task: &Waker) {
        let mut held = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if !held.as_ref().is_some_and(|h| h.will_wake(task)) {
            *held = Some(task.clone());
        }
    }
}

impl Wake for LocalWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Set before `polling` is read, and `drive` clears `polling` before
        // it reads this: one of the two sees the other, no wake-up is lost.
        self.woken.store(true, SeqCst);
        if !self.polling.load(SeqCst) {
            let held = self.task.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(task) = held.as_ref() {
                task.wake_by_ref();
            }
        }
    }
}

/// The answer's head and at most `max_body` bytes of its body.
async fn read(
    response: hyper::Response<hyper::body::Incoming>,
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
                // The caller drops the connection: it is not reused.
                return Err(format!(
                    "the body is larger than {max_body} bytes (--max-body); stopped reading"
                ));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(Answer {
        status,
        location,
        content_type,
        body,
    })
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

    /// A listener on an ephemeral loopback port, and that port.
    async fn listen() -> (tokio::net::TcpListener, u16) {
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
