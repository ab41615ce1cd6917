//! The mock's HTTP server: one hyper 1 HTTP/1.1 service per connection,
//! nothing kept per request, so a long-running mock serves in constant
//! memory (its own state aside). Stopping is explicit and awaited on the
//! runtime that owns the server; dropping it only aborts the task, which
//! never blocks (issue 14, findings 1 and 11).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::service::service_fn;
use hyper::{StatusCode, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use super::wire::{Request, Response};

/// Larger than any upload the docs allow; a bigger body is refused (413)
/// before it is held in memory.
pub(crate) const MAX_REQUEST_BODY: usize = 32 * 1024 * 1024;

/// How long a stop waits for answers in flight (faults-slow holds one for
/// 35 s) before it cuts their connections.
const GRACE: Duration = Duration::from_secs(1);

/// A client that never finishes its request head is dropped after this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server asks of the mock for each request.
pub(crate) trait App: Send + Sync + 'static {
    /// `body_too_large`: the body went over [`MAX_REQUEST_BODY`] and was
    /// not read; `request.body` is empty.
    fn respond(&self, request: Request, body_too_large: bool) -> Response;
}

/// A running server; [`Server::stop`] to stop it and free the port.
pub(crate) struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `app` on `listener` from a task of the current runtime.
    pub(crate) fn spawn<A: App>(listener: tokio::net::TcpListener, app: Arc<A>) -> Server {
        let (stop, stopped) = oneshot::channel();
        Server {
            stop: Some(stop),
            task: tokio::spawn(accept(listener, app, stopped)),
        }
    }

    /// Stops accepting, lets answers in flight finish (bounded by
    /// [`GRACE`]) and returns once the listener is closed.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Aborting drops the listener and every connection task with it at
        // the runtime's next turn; nothing here waits.
        self.task.abort();
    }
}

async fn accept<A: App>(
    listener: tokio::net::TcpListener,
    app: Arc<A>,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    // Dropping the set (on abort) aborts every connection.
    let mut connections = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    loop {
        // Finished connections are reaped, so the set stays as large as
        // the number of open ones.
        while connections.try_join_next().is_some() {}
        let stream = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        let service = service_fn(move |request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(handle(&*app, request).await) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        connections.spawn(graceful.watch(connection));
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
}

async fn handle<A: App>(
    app: &A,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (head, body) = request.into_parts();
    let (body, too_large) = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => (collected.to_bytes().to_vec(), false),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => (Vec::new(), true),
        // The client went away mid-body: nobody reads the answer.
        Err(_) => return plain(StatusCode::BAD_REQUEST),
    };
    let request = Request {
        method: head.method.as_str().to_string(),
        path: head.uri.path().to_string(),
        query: head.uri.query().map(str::to_string),
        headers: head.headers,
        body,
    };
    let answer = app.respond(request, too_large);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(kind) = answer.content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    }
    if let Some(location) = answer.location {
        match HeaderValue::from_str(&location) {
            Ok(value) => {
                headers.insert(LOCATION, value);
            }
            Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
    response
}

fn plain(status: StatusCode) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
