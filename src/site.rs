//! A small static web site served in-process on 127.0.0.1, for the demo and the end-to-end tests.
//!
//! Rules: it binds only to the loopback address on a free port the OS picks; it serves a fixed
//! route table built in memory (no files are read at request time); besides plain responses it
//! can misbehave on purpose (redirects, redirect loops, slow responses, status errors) so tests
//! can show a crawl survives them. It stops when the [`SiteServer`] is dropped.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Errors starting the site server.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("cannot bind the demo/test site to 127.0.0.1: {0}")]
    Bind(std::io::Error),
}

/// What one path answers.
#[derive(Debug, Clone)]
pub enum Route {
    /// 200 with this content type and body.
    Content { content_type: String, body: Vec<u8> },
    /// A redirect (301/302/307/308) to a path or URL.
    Redirect { status: u16, location: String },
    /// A bare status code with a short text body (404, 500, ...).
    Status(u16),
    /// The inner route, answered after a delay.
    Slow { delay: Duration, inner: Box<Route> },
}

impl Route {
    /// An HTML page.
    pub fn html(body: impl Into<String>) -> Self {
        Self::Content {
            content_type: "text/html; charset=utf-8".into(),
            body: body.into().into_bytes(),
        }
    }
    /// Any bytes with a content type.
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Self::Content {
            content_type: content_type.into(),
            body,
        }
    }
    /// A 302 redirect.
    pub fn redirect(location: impl Into<String>) -> Self {
        Self::Redirect {
            status: 302,
            location: location.into(),
        }
    }
}

/// A route table: path (with leading `/`, no query) to route.
#[derive(Debug, Clone, Default)]
pub struct Site {
    routes: HashMap<String, Route>,
}

impl Site {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds or replaces a route.
    pub fn route(&mut self, path: &str, route: Route) -> &mut Self {
        self.routes.insert(path.to_string(), route);
        self
    }
    /// The paths served.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }
}

/// A running site; dropping it stops the server.
pub struct SiteServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl SiteServer {
    /// Serves `site` on 127.0.0.1 at a free port. Must be called inside a tokio runtime.
    pub async fn start(site: Site) -> Result<Self, SiteError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(SiteError::Bind)?;
        let addr = listener.local_addr().map_err(SiteError::Bind)?;
        let state = Arc::new(site.routes);
        let app = axum::Router::new().fallback(serve).with_state(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
            let _ = h.await;
        }
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

async fn serve(
    State(routes): State<Arc<HashMap<String, Route>>>,
    req: Request<Body>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    match routes.get(&path) {
        Some(route) => answer(route).await,
        None => status_response(404),
    }
}

fn answer(route: &Route) -> std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send + '_>> {
    Box::pin(async move {
        match route {
            Route::Content { content_type, body } => {
                let mut r = Response::new(Body::from(body.clone()));
                if let Ok(v) = HeaderValue::from_str(content_type) {
                    r.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                r
            }
            Route::Redirect { status, location } => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::FOUND);
                if let Ok(v) = HeaderValue::from_str(location) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            Route::Status(code) => status_response(*code),
            Route::Slow { delay, inner } => {
                tokio::time::sleep(*delay).await;
                answer(inner).await
            }
        }
    })
}

fn status_response(code: u16) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = Response::new(Body::from(format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
