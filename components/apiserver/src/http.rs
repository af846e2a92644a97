//! HTTP dispatch: authentication, routing to discovery/OpenAPI/resources, and turning results
//! and errors into responses.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use warren_apimachinery::error::{ApiError, Reason};
use warren_apimachinery::patch::PatchType;

use crate::body::{MAX_BODY_BYTES, decode_as, decode_body};
use crate::request::{
    BodyFormat, Query, Representation, ResourcePath, Target, content_mime, negotiate, parse_path,
};
use crate::resources::{self, Addressed, DeleteOptions, Reply};
use crate::state::AppState;
use crate::{discovery, openapi_v2_proto, tables, version, watch};

fn json_response(code: u16, body: &Value, content_type: &str) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes_response(code, Bytes::from(bytes), content_type)
}

fn bytes_response(code: u16, body: Bytes, content_type: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut resp = json_response(e.code(), &e.to_status(), "application/json");
    if let Some(secs) = e.retry_after_seconds
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn text_response(code: u16, text: &'static str) -> Response<Body> {
    bytes_response(
        code,
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

/// The entry point for every request.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some((doc, content_type)) = crate::auth::discovery_document(&state, &path) {
        return json_response(200, &doc, content_type);
    }
    let target = parse_path(&path);
    let public = matches!(target, Target::Health(_) | Target::Version);
    let user = match authenticate_and_authorize(&state, &req, &method, &path, &target, public).await
    {
        Ok(user) => user,
        Err(e) => return error_response(&e),
    };
    let rbac_write = !matches!(method, Method::GET | Method::HEAD)
        && matches!(&target, Target::Resource(rp) if rp.group == warren_apimachinery::rbac::RBAC_GROUP);
    let result = crate::auth::as_user(user, route(state.clone(), req, target)).await;
    if rbac_write && result.is_ok() {
        // The requester's next call must already see the new policy.
        let _ = crate::auth::refresh(&state).await;
    }
    let resp = result.unwrap_or_else(|e| error_response(&e));
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "request");
    resp
}

/// Authentication (401 without valid credentials, except for public paths), impersonation and
/// RBAC authorization (403) of a request; returns the user it runs as.
async fn authenticate_and_authorize<B>(
    state: &AppState,
    req: &Request<B>,
    method: &Method,
    path: &str,
    target: &Target,
    public: bool,
) -> Result<warren_apimachinery::rbac::UserInfo, ApiError> {
    let cert = req.extensions().get::<crate::auth::x509::ClientCertUser>();
    let user = match crate::auth::authenticate(state, req.headers(), cert).await {
        Ok(Some(user)) => user,
        _ if public => warren_apimachinery::rbac::UserInfo::new(
            "system:anonymous",
            &[warren_apimachinery::rbac::SYSTEM_UNAUTHENTICATED],
        ),
        _ => return Err(ApiError::unauthorized()),
    };
    let user = crate::auth::impersonation::apply(&state.auth, user, req.headers())?;
    if !public {
        let query = Query::parse(req.uri().query());
        let attrs = crate::auth::request_attributes(method, path, target, &query);
        state.auth.authorize(&user, &attrs)?;
    }
    Ok(user)
}

/// The create-only resources: authentication/authorization reviews, TokenRequest,
/// pods/binding and pods/eviction.
async fn create_only_resource<B>(
    state: &Arc<AppState>,
    req: Request<B>,
    rp: &ResourcePath,
) -> Result<Response<Body>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = req.method().clone();
    let dry_run = Query::parse(req.uri().query()).dry_run()?;
    // These kinds have no table or metadata view: kube answers 406 to such an Accept.
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    if negotiate(accept)? != Representation::Object {
        return Err(ApiError::new(
            Reason::NotAcceptable,
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = read_body(req.into_body()).await?;
    let obj = if body.is_empty() {
        None
    } else {
        Some(decode_body(content_type.as_deref(), &body)?)
    };
    let (code, reply) = if crate::binding::handles(rp) {
        crate::binding::serve(state, &method, rp, obj, dry_run).await?
    } else if crate::eviction::handles(rp) {
        crate::eviction::serve(state, &method, rp, obj, dry_run).await?
    } else {
        crate::auth::reviews::serve(state, &method, rp, obj).await?
    };
    Ok(json_response(code, &reply, "application/json"))
}

async fn read_body<B>(body: B) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(MAX_BODY_BYTES))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

async fn route<B>(
    state: Arc<AppState>,
    req: Request<B>,
    target: Target,
) -> Result<Response<Body>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let read_only = req.method() == Method::GET || req.method() == Method::HEAD;
    let not_found = || {
        ApiError::new(
            Reason::NotFound,
            "the server could not find the requested resource",
        )
    };
    if !read_only && !matches!(target, Target::Resource(_)) {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let cat = &state.catalog;
    match target {
        Target::Health(_) => {
            if state.ready.load(Ordering::Acquire) {
                Ok(text_response(200, "ok"))
            } else {
                Ok(text_response(
                    500,
                    "[-]poststarthook/warren-ready failed: not finished",
                ))
            }
        }
        Target::Version => Ok(json_response(
            200,
            &version::version_info(),
            "application/json",
        )),
        Target::CoreVersions => {
            if negotiate(accept.as_deref())? == Representation::DiscoveryV2 {
                Ok(discovery_v2(&discovery::aggregated(cat, true)))
            } else {
                Ok(json_response(
                    200,
                    &discovery::core_versions(&state.listen.to_string()),
                    "application/json",
                ))
            }
        }
        Target::Groups => {
            if negotiate(accept.as_deref())? == Representation::DiscoveryV2 {
                Ok(discovery_v2(&discovery::aggregated(cat, false)))
            } else {
                Ok(json_response(
                    200,
                    &discovery::group_list(cat),
                    "application/json",
                ))
            }
        }
        Target::Group(g) => discovery::group(cat, &g)
            .map(|d| json_response(200, &d, "application/json"))
            .ok_or_else(not_found),
        Target::ResourceList { group, version } => discovery::resource_list(cat, &group, &version)
            .map(|d| json_response(200, &d, "application/json"))
            .ok_or_else(not_found),
        Target::OpenApiV3Index => Ok(json_response(
            200,
            &state.openapi.v3_index(cat),
            "application/json",
        )),
        Target::OpenApiV3 { gv_path } => {
            let doc = state
                .openapi
                .v3_document(cat, &gv_path)
                .ok_or_else(not_found)?;
            let immutable = req.uri().query().is_some_and(|q| q.contains("hash="));
            let mut resp =
                bytes_response(200, Bytes::from((*doc.body).clone()), "application/json");
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", doc.hash)) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            if immutable {
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, immutable"),
                );
            }
            Ok(resp)
        }
        Target::OpenApiV2 => match openapi_v2_proto::negotiate(accept.as_deref()) {
            Some(openapi_v2_proto::Format::Protobuf) => {
                let doc = state.openapi.v2_protobuf(cat);
                Ok(bytes_response(
                    200,
                    Bytes::from((*doc.body).clone()),
                    openapi_v2_proto::CONTENT_TYPE,
                ))
            }
            Some(openapi_v2_proto::Format::Json) => {
                let doc = state.openapi.v2(cat);
                Ok(bytes_response(
                    200,
                    Bytes::from((*doc.body).clone()),
                    "application/json",
                ))
            }
            None => Err(ApiError::new(
                Reason::NotAcceptable,
                "only application/json and application/com.github.proto-openapi.spec.v2.v1.0+protobuf are served for /openapi/v2",
            )),
        },
        Target::Resource(rp)
            if crate::auth::reviews::handles(&rp)
                || crate::binding::handles(&rp)
                || crate::eviction::handles(&rp) =>
        {
            create_only_resource(&state, req, &rp).await
        }
        Target::Resource(rp) => resource(state, req, rp, accept).await,
        Target::NotFound => Err(not_found()),
    }
}

fn discovery_v2(doc: &Value) -> Response<Body> {
    json_response(200, doc, discovery::DISCOVERY_V2_CONTENT_TYPE)
}

fn reply_response(reply: Reply) -> Response<Body> {
    let mut resp = match reply.raw {
        Some(bytes) => bytes_response(reply.code, bytes, "application/json"),
        None => json_response(reply.code, &reply.body, "application/json"),
    };
    for w in reply.warnings {
        let text = format!("299 - {}", serde_json::Value::String(w));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// Shapes a read answer as the Accept header asked: the object, a Table, or metadata only.
fn shaped(a: &Addressed, reply: Reply, repr: Representation, is_list: bool) -> Reply {
    let body = match repr {
        Representation::Table => {
            if is_list {
                let meta = reply.body.get("metadata").cloned();
                let items = reply.body["items"].as_array().cloned().unwrap_or_default();
                tables::table(&a.res, items, meta)
            } else {
                tables::table(&a.res, vec![reply.body], None)
            }
        }
        Representation::PartialObjectMetadata if is_list => {
            tables::partial_metadata_list(&reply.body)
        }
        Representation::PartialObjectMetadata => tables::partial_metadata(&reply.body),
        _ => reply.body,
    };
    Reply { body, ..reply }
}

async fn resource<B>(
    state: Arc<AppState>,
    req: Request<B>,
    rp: ResourcePath,
    accept: Option<String>,
) -> Result<Response<Body>, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let a = resources::address(&state, &rp)?;
    let query = Query::parse(req.uri().query()).with_user_agent(
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let watching = rp.watch_prefix || query.flag("watch")?;
    let repr = negotiate(accept.as_deref())?;
    let name = a.name.clone();
    let reply = match (&method, name.as_deref()) {
        (&Method::GET, _) if watching => {
            let wreq = watch::WatchRequest::from_query(&a, &query, repr)?;
            let rx = watch::start(state.clone(), a, wreq).await?;
            let stream = tokio_stream::wrappers::ReceiverStream::new(rx)
                .map(Ok::<Bytes, std::convert::Infallible>);
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            return Ok(resp);
        }
        (&Method::GET, None) => {
            if a.subresource.is_some() {
                return Err(ApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            let raw = repr == Representation::Object;
            shaped(
                &a,
                resources::list(&state, &a, &query, raw).await?,
                repr,
                true,
            )
        }
        (&Method::GET, Some(n)) => {
            let raw = repr == Representation::Object;
            shaped(&a, resources::get(&state, &a, n, raw).await?, repr, false)
        }
        (&Method::POST, None) => {
            let body = read_body(req.into_body()).await?;
            let obj = decode_body(content_type.as_deref(), &body)?;
            resources::create(&state, &a, &query, obj).await?
        }
        (&Method::PUT, Some(n)) => {
            let body = read_body(req.into_body()).await?;
            let obj = decode_body(content_type.as_deref(), &body)?;
            resources::update(&state, &a, n, &query, obj).await?
        }
        (&Method::PATCH, Some(n)) => {
            let mime = content_mime(content_type.as_deref());
            let patch_type = PatchType::from_content_type(&mime)
                .ok_or_else(|| ApiError::unsupported_media_type(&mime))?;
            let body = read_body(req.into_body()).await?;
            let format = if patch_type == PatchType::Apply {
                BodyFormat::Yaml
            } else {
                BodyFormat::Json
            };
            let patch = decode_as(format, &body)?;
            resources::patch(&state, &a, n, &query, patch_type, patch).await?
        }
        (&Method::DELETE, n) => {
            let body = read_body(req.into_body()).await?;
            let opts_body = if body.is_empty() {
                None
            } else {
                Some(decode_body(content_type.as_deref(), &body)?)
            };
            let opts = DeleteOptions::parse(opts_body.as_ref(), &query)?;
            match n {
                Some(n) => resources::delete(&state, &a, n, &opts).await?,
                None => resources::delete_collection(&state, &a, &query, &opts).await?,
            }
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let mut reply = reply;
    crate::admission::add_warnings(&a.res, &mut reply.warnings);
    Ok(reply_response(reply))
}

use futures::StreamExt;
