//! Table-driven conversion of one protobuf message into the JSON that
//! kube-apiserver's Go JSON encoder would produce for the same object.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::table::{Field, FieldType, Message, Special, Table};
use super::wire::{Reader, WT_FIXED64, WT_LEN, WT_VARINT, malformed};
use super::{MAX_DEPTH, ProtobufError};

/// Seconds from the Unix epoch to 0001-01-01T00:00:00Z, Go's zero `time.Time`,
/// which `metav1.Time` encodes as JSON `null`.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

pub(super) struct Decoder {
    pub table: &'static Table,
}

impl Decoder {
    /// Decodes message `idx` from `buf`. `depth` is the nesting level of
    /// this message (the top-level object is 1).
    pub(super) fn message(
        &self,
        idx: usize,
        buf: &[u8],
        depth: usize,
    ) -> Result<Value, ProtobufError> {
        if depth > MAX_DEPTH {
            return Err(ProtobufError::TooDeep { limit: MAX_DEPTH });
        }
        let msg = &self.table.messages[idx];
        match msg.special {
            Special::None => {
                let mut obj = Map::new();
                self.fields_into(&mut obj, idx, buf, depth)?;
                self.null_absent(&mut obj, idx, depth);
                Ok(Value::Object(obj))
            }
            // metav1.Time.Unmarshal: empty bytes are the zero time (Go's
            // encoder writes a zero Time as an empty message).
            Special::Time | Special::MicroTime if buf.is_empty() => Ok(Value::Null),
            special => {
                let mut obj = Map::new();
                self.fields_into(&mut obj, idx, buf, depth)?;
                special_json(special, msg, obj, depth, self)
            }
        }
    }

    /// Decodes the fields of message `idx` into `obj`. Used directly for
    /// inline (embedded) fields and for merging a repeated occurrence of a
    /// singular message field, as protobuf requires.
    fn fields_into(
        &self,
        obj: &mut Map<String, Value>,
        idx: usize,
        buf: &[u8],
        depth: usize,
    ) -> Result<(), ProtobufError> {
        let msg = &self.table.messages[idx];
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let (tag, wire_type) = r.key()?;
            let Some(field) = msg.field(tag) else {
                r.skip(wire_type, depth)?;
                continue;
            };
            if field.map {
                expect_wire(field, msg, wire_type, WT_LEN)?;
                let entry = r.length_delimited()?;
                let (key, value) = self.map_entry(field, entry, depth)?;
                let slot = obj
                    .entry(field.json.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = slot {
                    m.insert(key, value);
                } else {
                    *slot = Value::Object(Map::from_iter([(key, value)]));
                }
            } else if field.repeated {
                let mut items = Vec::new();
                match field.ty {
                    FieldType::Message(m) => {
                        expect_wire(field, msg, wire_type, WT_LEN)?;
                        items.push(self.message(m, r.length_delimited()?, depth + 1)?);
                    }
                    // Kubernetes' protos are proto2 (unpacked), but Go's
                    // generated decoder accepts the packed form too.
                    FieldType::Int32 | FieldType::Int64 | FieldType::Bool | FieldType::Double
                        if wire_type == WT_LEN =>
                    {
                        let mut packed = Reader::new(r.length_delimited()?);
                        let element_wire = if field.ty == FieldType::Double {
                            WT_FIXED64
                        } else {
                            WT_VARINT
                        };
                        while !packed.is_empty() {
                            items.push(scalar(field.ty, &mut packed, element_wire, field, msg)?);
                        }
                    }
                    ty => items.push(scalar(ty, &mut r, wire_type, field, msg)?),
                }
                let slot = obj
                    .entry(field.json.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = slot {
                    a.extend(items);
                } else {
                    *slot = Value::Array(items);
                }
            } else if let FieldType::Message(m) = field.ty {
                expect_wire(field, msg, wire_type, WT_LEN)?;
                let sub = r.length_delimited()?;
                if depth >= MAX_DEPTH {
                    return Err(ProtobufError::TooDeep { limit: MAX_DEPTH });
                }
                if field.inline {
                    self.fields_into(obj, m, sub, depth + 1)?;
                } else if let (Special::None, Some(Value::Object(existing))) =
                    (self.table.messages[m].special, obj.get_mut(&field.json))
                {
                    // A singular message seen twice is merged (protobuf rule,
                    // and what Go's generated Unmarshal does).
                    self.fields_into(existing, m, sub, depth + 1)?;
                } else {
                    let value = self.message(m, sub, depth + 1)?;
                    obj.insert(field.json.clone(), value);
                }
            } else {
                let value = scalar(field.ty, &mut r, wire_type, field, msg)?;
                // Last occurrence wins; a zero in an omitempty value field is
                // what Go's JSON encoder leaves out.
                if field.omit_zero && is_zero(&value) {
                    obj.remove(&field.json);
                } else {
                    obj.insert(field.json.clone(), value);
                }
            }
        }
        Ok(())
    }

    /// Adds `null` for absent slices/maps that Go prints without
    /// `omitempty` (see [`Field::null_if_absent`]), including those of inline
    /// embedded structs, which Go flattens whether or not they were sent.
    fn null_absent(&self, obj: &mut Map<String, Value>, idx: usize, depth: usize) {
        // Inline nesting is shallow in practice; the bound only guards
        // against a pathological table.
        if depth > MAX_DEPTH {
            return;
        }
        for f in &self.table.messages[idx].fields {
            match f.ty {
                FieldType::Message(m) if f.inline => self.null_absent(obj, m, depth + 1),
                _ if f.null_if_absent && !obj.contains_key(&f.json) => {
                    obj.insert(f.json.clone(), Value::Null);
                }
                _ => {}
            }
        }
    }

    /// A map entry is a nested message {1: key, 2: value}; absent parts take
    /// their zero values, as in Go.
    fn map_entry(
        &self,
        field: &Field,
        entry: &[u8],
        depth: usize,
    ) -> Result<(String, Value), ProtobufError> {
        let mut r = Reader::new(entry);
        let mut key = String::new();
        let mut value: Option<Value> = None;
        while !r.is_empty() {
            let (tag, wire_type) = r.key()?;
            match tag {
                1 => {
                    if wire_type != WT_LEN {
                        return Err(malformed(format!(
                            "map {}: key has wire type {wire_type}",
                            field.json
                        )));
                    }
                    key = String::from_utf8_lossy(r.length_delimited()?).into_owned();
                }
                2 => {
                    value = Some(match field.ty {
                        FieldType::Message(m) => {
                            if wire_type != WT_LEN {
                                return Err(malformed(format!(
                                    "map {}: value has wire type {wire_type}",
                                    field.json
                                )));
                            }
                            self.message(m, r.length_delimited()?, depth + 1)?
                        }
                        ty => {
                            scalar_raw(ty, &mut r, wire_type).map_err(|e| prefix(e, &field.json))?
                        }
                    });
                }
                _ => r.skip(wire_type, depth)?,
            }
        }
        let value = match value {
            Some(v) => v,
            None => match field.ty {
                FieldType::Message(m) => self.message(m, &[], depth + 1)?,
                FieldType::String | FieldType::Bytes => Value::String(String::new()),
                FieldType::Bool => Value::Bool(false),
                FieldType::Int32 | FieldType::Int64 | FieldType::Double => Value::Number(0.into()),
            },
        };
        Ok((key, value))
    }
}

fn prefix(e: ProtobufError, what: &str) -> ProtobufError {
    match e {
        ProtobufError::Malformed(m) => malformed(format!("{what}: {m}")),
        other => other,
    }
}

fn expect_wire(field: &Field, msg: &Message, got: u8, want: u8) -> Result<(), ProtobufError> {
    if got == want {
        Ok(())
    } else {
        Err(malformed(format!(
            "{}.{} (field {}): wire type {got}, expected {want}",
            msg.name, field.json, field.tag
        )))
    }
}

fn scalar(
    ty: FieldType,
    r: &mut Reader<'_>,
    wire_type: u8,
    field: &Field,
    msg: &Message,
) -> Result<Value, ProtobufError> {
    scalar_raw(ty, r, wire_type).map_err(|e| {
        prefix(
            e,
            &format!("{}.{} (field {})", msg.name, field.json, field.tag),
        )
    })
}

fn scalar_raw(ty: FieldType, r: &mut Reader<'_>, wire_type: u8) -> Result<Value, ProtobufError> {
    let want = match ty {
        FieldType::String | FieldType::Bytes | FieldType::Message(_) => WT_LEN,
        FieldType::Int32 | FieldType::Int64 | FieldType::Bool => WT_VARINT,
        FieldType::Double => WT_FIXED64,
    };
    if wire_type != want {
        return Err(malformed(format!("wire type {wire_type}, expected {want}")));
    }
    Ok(match ty {
        // Go strings may hold invalid UTF-8; Go's JSON encoder replaces it
        // with U+FFFD, exactly like from_utf8_lossy.
        FieldType::String => {
            Value::String(String::from_utf8_lossy(r.length_delimited()?).into_owned())
        }
        // []byte is base64 (standard alphabet, padded) in Go's JSON.
        FieldType::Bytes => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(r.length_delimited()?))
        }
        // Go's generated decoder keeps the low 32 bits of the varint.
        FieldType::Int32 => Value::Number((r.varint()? as u32 as i32).into()),
        FieldType::Int64 => Value::Number((r.varint()? as i64).into()),
        FieldType::Bool => Value::Bool(r.varint()? != 0),
        FieldType::Double => float_json(f64::from_le_bytes(r.fixed64()?))?,
        FieldType::Message(_) => return Err(malformed("message where a scalar was expected")),
    })
}

/// Go prints integral float64 values without a fraction (`5`, not `5.0`);
/// NaN and infinities make Go's JSON encoder fail.
fn float_json(f: f64) -> Result<Value, ProtobufError> {
    if !f.is_finite() {
        return Err(malformed(format!("double {f} has no JSON form")));
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::Number((f as i64).into()));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| malformed("double has no JSON form"))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// The decoded field of `msg` with number `tag`, by its table JSON name.
fn take(msg: &Message, obj: &mut Map<String, Value>, tag: u32) -> Option<Value> {
    msg.field(tag).and_then(|f| obj.remove(&f.json))
}

fn special_json(
    special: Special,
    msg: &Message,
    mut obj: Map<String, Value>,
    depth: usize,
    decoder: &Decoder,
) -> Result<Value, ProtobufError> {
    let int = |v: Option<Value>| v.and_then(|v| v.as_i64()).unwrap_or(0);
    match special {
        Special::None => Ok(Value::Object(obj)),
        // message Time { int64 seconds = 1; int32 nanos = 2 }. metav1.Time
        // drops nanos on decode and prints RFC 3339 with seconds.
        Special::Time => {
            let seconds = int(take(msg, &mut obj, 1));
            if seconds == GO_ZERO_TIME_UNIX {
                return Ok(Value::Null);
            }
            rfc3339(seconds, 0, false)
        }
        // MicroTime truncates nanos to microseconds and always prints six
        // fractional digits (RFC3339Micro).
        Special::MicroTime => {
            let seconds = int(take(msg, &mut obj, 1));
            let nanos = int(take(msg, &mut obj, 2));
            let micros_as_nanos = nanos - nanos % 1000;
            if seconds == GO_ZERO_TIME_UNIX && micros_as_nanos == 0 {
                return Ok(Value::Null);
            }
            rfc3339(seconds, micros_as_nanos, true)
        }
        // message Duration { int64 duration = 1 } (nanoseconds) -> Go's
        // time.Duration.String(), e.g. "1h0m0s".
        Special::Duration => Ok(Value::String(go_duration(int(take(msg, &mut obj, 1))))),
        // message Quantity { string string = 1 }; a zero Quantity is "0".
        // Go clients already send the canonical form.
        Special::Quantity => Ok(match take(msg, &mut obj, 1) {
            Some(Value::String(s)) if !s.is_empty() => Value::String(s),
            _ => Value::String("0".into()),
        }),
        // message IntOrString { int64 type = 1; int32 intVal = 2; string strVal = 3 }
        Special::IntOrString => match int(take(msg, &mut obj, 1)) {
            0 => Ok(Value::Number(int(take(msg, &mut obj, 2)).into())),
            1 => Ok(take(msg, &mut obj, 3).unwrap_or_else(|| Value::String(String::new()))),
            t => Err(malformed(format!("IntOrString type {t}"))),
        },
        // RawExtension / FieldsV1 / apiextensions JSON { bytes raw = 1 }: the
        // bytes are the JSON itself (absent -> null). Inside a protobuf
        // body a RawExtension may carry a nested protobuf envelope instead.
        Special::RawJson => {
            let raw = match take(msg, &mut obj, 1) {
                Some(Value::String(b64)) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| malformed(format!("raw bytes: {e}")))?,
                _ => Vec::new(),
            };
            if raw.is_empty() {
                return Ok(Value::Null);
            }
            if raw.starts_with(super::MAGIC) {
                return super::decode_envelope(decoder, &raw, depth + 1);
            }
            serde_json::from_slice(&raw)
                .map_err(|e| malformed(format!("{}: embedded JSON: {e}", msg.name)))
        }
        // `type ExtraValue []string`: a nil slice is JSON null.
        Special::Array => Ok(match take(msg, &mut obj, 1) {
            Some(Value::Array(a)) if !a.is_empty() => Value::Array(a),
            _ => Value::Null,
        }),
        // JSONSchemaPropsOrArray { schema = 1; repeated jSONSchemas = 2 }
        Special::SchemaOrArray => Ok(match take(msg, &mut obj, 2) {
            Some(Value::Array(a)) if !a.is_empty() => Value::Array(a),
            _ => take(msg, &mut obj, 1).unwrap_or(Value::Null),
        }),
        // JSONSchemaPropsOrBool { bool allows = 1; schema = 2 }
        Special::SchemaOrBool => Ok(match take(msg, &mut obj, 2) {
            Some(schema) => schema,
            None => Value::Bool(
                take(msg, &mut obj, 1)
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            ),
        }),
        // JSONSchemaPropsOrStringArray { schema = 1; repeated string property = 2 }
        Special::SchemaOrStringArray => Ok(match take(msg, &mut obj, 2) {
            Some(Value::Array(a)) if !a.is_empty() => Value::Array(a),
            _ => take(msg, &mut obj, 1).unwrap_or(Value::Null),
        }),
    }
}

/// RFC 3339 in UTC as Go formats it; years outside 0000..9999 have no such
/// form and are rejected.
fn rfc3339(seconds: i64, nanos: i64, micro: bool) -> Result<Value, ProtobufError> {
    let t = chrono::DateTime::from_timestamp(seconds, 0)
        .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(nanos)))
        .ok_or_else(|| malformed(format!("timestamp {seconds}s out of range")))?;
    let year = chrono::Datelike::year(&t);
    if !(0..=9999).contains(&year) {
        return Err(malformed(format!("timestamp year {year} out of range")));
    }
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(t.format(format).to_string()))
}

/// Go's `time.Duration.String()`.
pub(super) fn go_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let mut u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (frac, int) = go_frac(u, prec);
        format!("{int}{frac}{unit}")
    } else {
        let (frac, secs) = go_frac(u, 9);
        u = secs;
        let mut s = format!("{}{frac}s", u % 60);
        u /= 60;
        if u > 0 {
            s = format!("{}m{s}", u % 60);
            u /= 60;
            if u > 0 {
                s = format!("{u}h{s}");
            }
        }
        s
    };
    if d < 0 { format!("-{body}") } else { body }
}

/// Splits `v` into the fraction `v % 10^prec` printed as ".ddd" without
/// trailing zeros (empty when zero) and the integer part.
fn go_frac(v: u64, prec: u32) -> (String, u64) {
    let scale = 10u64.pow(prec);
    let frac = v % scale;
    if frac == 0 {
        return (String::new(), v / scale);
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / scale)
}
