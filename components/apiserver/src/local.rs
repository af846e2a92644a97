//! The in-process door to the API: a tower `Service` that hands requests straight to the
//! handler, for the controllers, the syncer and the DNS running in the same process. Like
//! kube-apiserver's loopback client it skips TLS and sockets (each watch over HTTPS/1.1 costs a
//! connection pair with its buffers on both ends, and every byte is encrypted twice) and it
//! authenticates as the cluster admin, the identity the written kubeconfig carries.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Full};
use warren_apimachinery::error::ApiError;

use crate::auth::x509::ClientCertUser;
use crate::state::AppState;

/// Requests into this process's API server as `system:admin`; cheap to clone.
#[derive(Clone)]
pub struct LocalService {
    state: Arc<AppState>,
    user_agent: Option<HeaderValue>,
}

impl std::fmt::Debug for LocalService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalService")
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl LocalService {
    pub(crate) fn new(state: Arc<AppState>) -> LocalService {
        LocalService {
            state,
            user_agent: None,
        }
    }

    /// Requests without a User-Agent get this one (the API names field managers after it).
    pub fn with_user_agent(mut self, user_agent: &'static str) -> LocalService {
        self.user_agent = Some(HeaderValue::from_static(user_agent));
        self
    }
}

impl<B> tower::Service<Request<B>> for LocalService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The same extension a verified client certificate leaves: the request's identity.
        req.extensions_mut()
            .insert(ClientCertUser(crate::auth::admin_user()));
        if let Some(ua) = &self.user_agent {
            req.headers_mut()
                .entry(header::USER_AGENT)
                .or_insert_with(|| ua.clone());
        }
        let state = self.state.clone();
        Box::pin(async move {
            // In-process bodies are whole objects already; collected here, the handler gets a
            // `Sync` body (kube's is not) and the request stays `Send` across its awaits.
            let (parts, body) = req.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) => {
                    let e =
                        ApiError::bad_request(format!("reading the request body: {}", e.into()));
                    return Ok(crate::http::error_response(&e));
                }
            };
            let req = Request::from_parts(parts, Full::new(bytes));
            Ok(crate::http::handle(state, req).await)
        })
    }
}
