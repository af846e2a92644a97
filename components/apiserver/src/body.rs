//! Request bodies: size limit and decoding of JSON, YAML and Kubernetes protobuf into JSON.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

use crate::request::{BodyFormat, body_format, content_mime};

/// kube-apiserver's limit for a write request body.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Decodes an object body. Malformed input is a 400; an unknown media type a 415.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let mime = content_mime(content_type);
    let format = body_format(&mime).ok_or_else(|| ApiError::unsupported_media_type(&mime))?;
    let value = decode_as(format, body)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Decodes a body in a known format into JSON (any JSON value; patches may be arrays).
pub fn decode_as(format: BodyFormat, body: &[u8]) -> Result<Value, ApiError> {
    match format {
        BodyFormat::Json => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        }),
        BodyFormat::Yaml => serde_norway::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}"))),
        BodyFormat::Protobuf => warren_apimachinery::protobuf::decode(body).map_err(|e| {
            ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_errors() {
        let v = decode_body(Some("application/json"), br#"{"a":1}"#).expect("json");
        assert_eq!(v["a"], 1);
        let y = decode_body(Some("application/yaml"), b"a: 1\nb: [x]\n").expect("yaml");
        assert_eq!(y["b"][0], "x");
        assert_eq!(
            decode_body(Some("application/json"), b"{nope").map_err(|e| e.code()),
            Err(400)
        );
        assert_eq!(
            decode_body(Some("application/json"), b"[1]").map_err(|e| e.code()),
            Err(400)
        );
        assert_eq!(
            decode_body(Some("text/html"), b"{}").map_err(|e| e.code()),
            Err(415)
        );
        assert_eq!(
            decode_body(Some("application/vnd.kubernetes.protobuf"), b"junk").map_err(|e| e.code()),
            Err(400)
        );
    }
}
