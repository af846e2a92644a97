//! Watch: a stream of newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK,
//! ERROR), from any retained revision, with kube-apiserver's selector transition rules.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warren_apimachinery::error::ApiError;
use warren_store::{Event, EventKind};

use crate::filter::ListFilter;
use crate::objects::decode_kv;
use crate::request::{Query, Representation};
use crate::resources::{Addressed, ListRequest, list_objects};
use crate::state::AppState;

/// How often a watch with `allowWatchBookmarks` gets a BOOKMARK (kube: about a minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// The parsed watch parameters.
pub struct WatchRequest {
    filter: ListFilter,
    /// Revision to start after; `None` = send the current state first.
    start_after: Option<i64>,
    send_initial_events: bool,
    bookmarks: bool,
    timeout: Duration,
    representation: Representation,
}

impl WatchRequest {
    pub fn from_query(
        a: &Addressed,
        query: &Query,
        representation: Representation,
    ) -> Result<WatchRequest, ApiError> {
        let mut filter = ListFilter::from_query(&a.res, query)?;
        if a.name.is_some() {
            // a watch on a single object's path is a watch of the collection for that name
            let mut q = query.clone();
            let name = a.name.clone().unwrap_or_default();
            let field = match query.get("fieldSelector") {
                Some(f) => format!("{f},metadata.name={name}"),
                None => format!("metadata.name={name}"),
            };
            q.set("fieldSelector", &field);
            filter = ListFilter::from_query(&a.res, &q)?;
        }
        let send_initial_events = query.flag("sendInitialEvents")?;
        let bookmarks = query.flag("allowWatchBookmarks")?;
        let rv = query.get("resourceVersion");
        if send_initial_events {
            if query.get("resourceVersionMatch") != Some("NotOlderThan") {
                return Err(ApiError::bad_request(
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !bookmarks {
                return Err(ApiError::bad_request(
                    "sendInitialEvents requires setting allowWatchBookmarks to true",
                ));
            }
        } else if query.get("resourceVersionMatch").is_some() {
            return Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        let start_after =
            match rv {
                None | Some("0") => None,
                Some(_) if send_initial_events => None,
                Some(s) => Some(s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version {s:?}"))
                })?),
            };
        let timeout = match query.int("timeoutSeconds")? {
            Some(t) if t > 0 => Duration::from_secs(t as u64),
            // kube picks a random timeout in [min-request-timeout, 2x]; 30–60 minutes
            _ => Duration::from_secs(1800 + rand::random_range(0..1800)),
        };
        Ok(WatchRequest {
            filter,
            start_after,
            send_initial_events,
            bookmarks,
            timeout,
            representation,
        })
    }
}

/// Encodes one event line.
struct Encoder {
    res: Arc<warren_apimachinery::registry::Resource>,
    representation: Representation,
    sent_columns: bool,
}

impl Encoder {
    fn line(&mut self, event_type: &str, mut object: Value) -> Bytes {
        if event_type != "BOOKMARK" && event_type != "ERROR" {
            crate::admission::read_form(&self.res, &mut object);
        }
        let object = match self.representation {
            Representation::Table if event_type != "BOOKMARK" && event_type != "ERROR" => {
                let mut table = crate::tables::table(&self.res, vec![object], None);
                if self.sent_columns {
                    table["columnDefinitions"] = json!([]);
                }
                self.sent_columns = true;
                table
            }
            Representation::PartialObjectMetadata
                if event_type != "BOOKMARK" && event_type != "ERROR" =>
            {
                crate::tables::partial_metadata(&object)
            }
            _ => object,
        };
        let mut bytes =
            serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    /// The event line built around the stored bytes, without decoding them: for plain object
    /// watches without selectors, of kinds served as stored, and events whose stored value
    /// was written at the event's revision (creates and updates). Most watches of the
    /// in-process controllers, syncer and DNS are such, and every pod change reaches several.
    fn stored_line(&self, filter: &ListFilter, event: &Event) -> Option<Bytes> {
        if self.representation != Representation::Object
            || !filter.is_everything()
            || crate::admission::transforms_reads(&self.res)
        {
            return None;
        }
        let event_type: &[u8] = match event.kind {
            EventKind::Created => b"ADDED",
            EventKind::Updated => b"MODIFIED",
            // A delete's stored value is the object before it (an older resourceVersion).
            EventKind::Deleted => return None,
        };
        let mut bytes = Vec::with_capacity(event.kv.value.len() + 32);
        bytes.extend_from_slice(b"{\"type\":\"");
        bytes.extend_from_slice(event_type);
        bytes.extend_from_slice(b"\",\"object\":");
        bytes.extend_from_slice(&event.kv.value);
        bytes.extend_from_slice(b"}\n");
        Some(Bytes::from(bytes))
    }

    fn bookmark(&mut self, revision: i64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({
            "kind": self.res.kind,
            "apiVersion": self.res.api_version(),
            "metadata": metadata,
        });
        self.line("BOOKMARK", object)
    }
}

fn error_line(encoder: &mut Encoder, e: &ApiError) -> Bytes {
    encoder.line("ERROR", e.to_status())
}

/// Classifies a store event against the filter: which event type (if any) the client sees.
fn classify(filter: &ListFilter, event: &Event) -> Result<Option<(&'static str, Value)>, ApiError> {
    let obj = decode_kv(&event.kv)?;
    let now = filter.matches(&obj);
    let kind = match event.kind {
        EventKind::Created => now.then_some("ADDED"),
        EventKind::Deleted => now.then_some("DELETED"),
        EventKind::Updated => {
            let before = if filter.is_everything() {
                true
            } else {
                event
                    .prev_value
                    .as_ref()
                    .and_then(|p| serde_json::from_slice::<Value>(p).ok())
                    .is_some_and(|p| filter.matches(&p))
            };
            match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    };
    Ok(kind.map(|k| (k, obj)))
}

/// Starts the watch and returns the receiving end of its event lines.
pub async fn start(
    state: Arc<AppState>,
    a: Addressed,
    req: WatchRequest,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut encoder = Encoder {
        res: a.res.clone(),
        representation: req.representation,
        sent_columns: false,
    };
    let prefix = a.res.storage_list_prefix(a.namespace.as_deref());
    let mut initial: Vec<Value> = Vec::new();
    let from = match req.start_after {
        Some(rev) => rev,
        None => {
            let list_req = ListRequest {
                filter: req.filter.clone(),
                limit: None,
                continue_token: None,
                exact_revision: None,
                min_revision: None,
            };
            let listed = list_objects(&state, &a, &list_req).await?;
            initial = listed.items;
            listed.revision
        }
    };
    let watcher = {
        let store = state.objects.store.clone();
        let prefix = prefix.clone();
        crate::objects::blocking(move || store.watch(&prefix, from)).await?
    };
    let send_initial_end = req.send_initial_events;
    let bookmarks = req.bookmarks;
    let filter = req.filter;
    let timeout = req.timeout;
    drop(state);
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let err = crate::objects::general_store_error(e);
                let _ = tx.send(error_line(&mut encoder, &err)).await;
                return;
            }
        };
        for obj in initial {
            if tx.send(encoder.line("ADDED", obj)).await.is_err() {
                return;
            }
        }
        if send_initial_end && tx.send(encoder.bookmark(from, true)).await.is_err() {
            return;
        }
        let mut last_revision = from;
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(encoder.bookmark(last_revision, false)).await.is_err() {
                        return;
                    }
                }
                next = watcher.next() => {
                    let line = match next {
                        None => return,
                        Some(Err(e)) => {
                            let err = crate::objects::general_store_error(e);
                            let _ = tx.send(error_line(&mut encoder, &err)).await;
                            return;
                        }
                        Some(Ok(event)) => {
                            last_revision = event.kv.mod_revision;
                            if let Some(line) = encoder.stored_line(&filter, &event) {
                                line
                            } else {
                                match classify(&filter, &event) {
                                    Ok(Some((kind, obj))) => encoder.line(kind, obj),
                                    Ok(None) => continue,
                                    Err(err) => error_line(&mut encoder, &err),
                                }
                            }
                        }
                    };
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_store::KeyValue;

    fn event(kind: EventKind, value: &Value, rev: i64) -> Event {
        Event {
            kind,
            kv: KeyValue {
                key: "/registry/pods/default/p".into(),
                create_revision: 1,
                mod_revision: rev,
                value: serde_json::to_vec(value).unwrap(),
            },
            prev_value: None,
        }
    }

    /// Lines built around the stored bytes say exactly what decoding and encoding would, and
    /// only where that holds: no selectors, plain objects, creates and updates.
    #[test]
    fn stored_lines_match_encoded_ones() {
        let pods = warren_apimachinery::registry::find_builtin("", "v1", "pods").unwrap();
        let mut encoder = Encoder {
            res: Arc::new(pods.clone()),
            representation: Representation::Object,
            sent_columns: false,
        };
        let everything = ListFilter::everything(pods);
        let stored = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "resourceVersion": "7"}});
        for (kind, name) in [
            (EventKind::Created, "ADDED"),
            (EventKind::Updated, "MODIFIED"),
        ] {
            let ev = event(kind, &stored, 7);
            let fast = encoder.stored_line(&everything, &ev).expect("stored line");
            let slow = encoder.line(name, decode_kv(&ev.kv).unwrap());
            assert_eq!(
                serde_json::from_slice::<Value>(&fast).unwrap(),
                serde_json::from_slice::<Value>(&slow).unwrap()
            );
            assert!(fast.ends_with(b"}\n"));
        }
        // A delete's stored value carries the revision before it.
        let deleted = event(EventKind::Deleted, &stored, 8);
        assert!(encoder.stored_line(&everything, &deleted).is_none());
        // Tables and metadata-only watches are encoded.
        encoder.representation = Representation::PartialObjectMetadata;
        assert!(
            encoder
                .stored_line(&everything, &event(EventKind::Created, &stored, 7))
                .is_none()
        );
    }
}
