//! Protocol-buffers wire format reading: varints, keys, length-delimited
//! slices and skipping of unknown fields. Every read is bounds-checked and
//! reports [`ProtobufError::Malformed`] instead of panicking, because the
//! bytes come straight from HTTP request bodies.

use super::{MAX_DEPTH, ProtobufError};

pub(super) const WT_VARINT: u8 = 0;
pub(super) const WT_FIXED64: u8 = 1;
pub(super) const WT_LEN: u8 = 2;
pub(super) const WT_START_GROUP: u8 = 3;
pub(super) const WT_END_GROUP: u8 = 4;
pub(super) const WT_FIXED32: u8 = 5;

pub(super) fn malformed(msg: impl Into<String>) -> ProtobufError {
    ProtobufError::Malformed(msg.into())
}

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value: u64 = 0;
        // At most 10 bytes encode a u64; Go's generated code rejects an
        // 11th byte with ErrIntOverflowGenerated, and so do we.
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(malformed("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than 10 bytes"))
    }

    /// A field key: (field number, wire type).
    pub(super) fn key(&mut self) -> Result<(u32, u8), ProtobufError> {
        let v = self.varint()?;
        let wire_type = (v & 7) as u8;
        let field = v >> 3;
        if field == 0 || field > i32::MAX as u64 {
            return Err(malformed(format!("illegal field number {field}")));
        }
        // Truncation impossible: checked against i32::MAX above.
        Ok((field as u32, wire_type))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| malformed(format!("length {n} runs past the end of the message")))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(super) fn length_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| malformed("length does not fit in memory"))?;
        self.take(len)
    }

    pub(super) fn fixed64(&mut self) -> Result<[u8; 8], ProtobufError> {
        let b = self.take(8)?;
        let mut out = [0u8; 8];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Skips the value of an unknown field. Groups (deprecated, never
    /// produced by Kubernetes) are skipped like Go's `skipGenerated` does,
    /// with their nesting counted against [`MAX_DEPTH`].
    pub(super) fn skip(&mut self, wire_type: u8, depth: usize) -> Result<(), ProtobufError> {
        match wire_type {
            WT_VARINT => self.varint().map(drop),
            WT_FIXED64 => self.take(8).map(drop),
            WT_LEN => self.length_delimited().map(drop),
            WT_FIXED32 => self.take(4).map(drop),
            WT_START_GROUP => {
                if depth >= MAX_DEPTH {
                    return Err(ProtobufError::TooDeep { limit: MAX_DEPTH });
                }
                loop {
                    if self.is_empty() {
                        return Err(malformed("unterminated group"));
                    }
                    let (_, wt) = self.key()?;
                    if wt == WT_END_GROUP {
                        return Ok(());
                    }
                    self.skip(wt, depth + 1)?;
                }
            }
            WT_END_GROUP => Err(malformed("end group without start group")),
            other => Err(malformed(format!("illegal wire type {other}"))),
        }
    }
}
