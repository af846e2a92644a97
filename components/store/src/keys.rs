//! Key-range helpers: prefix matching is done with an index range
//! `prefix <= key < prefix_end(prefix)`, never with `LIKE`.

/// The smallest string that is greater than every string starting with
/// `prefix`, or `None` when no such bound exists (empty prefix, or a prefix made
/// only of `char::MAX`).
///
/// Because UTF-8 byte order equals code point order (and SQLite's `BINARY`
/// collation is `memcmp`), `key.starts_with(prefix)` is equivalent to
/// `prefix <= key && key < prefix_end(prefix)` (the upper bound being absent
/// when `None`).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        if let Some(next) = next_char(c) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn next_char(c: char) -> Option<char> {
    let mut u = u32::from(c).checked_add(1)?;
    if u == 0xD800 {
        // Skip the surrogate range, which never appears in a `str`.
        u = 0xE000;
    }
    char::from_u32(u)
}

/// A half-open key range `[start, end)` (`end == None` means unbounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) prefix: String,
    pub(crate) end: Option<String>,
}

impl KeyRange {
    pub(crate) fn prefix(prefix: &str) -> Self {
        KeyRange {
            prefix: prefix.to_owned(),
            end: prefix_end(prefix),
        }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        key.starts_with(self.prefix.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefix_end_basic() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("/a/").as_deref(), Some("/a0"));
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_end("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
    }

    proptest! {
        #[test]
        fn prefix_range_matches_starts_with(
            prefix in "[a-c/\u{D7FF}\u{E000}\u{10FFFF}]{0,4}",
            key in "[a-c/\u{D7FF}\u{E000}\u{10FFFF}]{0,6}",
        ) {
            let end = prefix_end(&prefix);
            let in_range = key.as_str() >= prefix.as_str()
                && end.as_deref().is_none_or(|e| key.as_str() < e);
            prop_assert_eq!(in_range, key.starts_with(prefix.as_str()));
        }
    }
}
