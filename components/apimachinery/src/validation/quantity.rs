//! resource.Quantity parsing, enough to reject malformed quantities with kube's messages and to
//! compare requests with limits exactly (values in nano-units, saturating where too large).

/// resource.ErrFormatWrong.
pub const FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// resource.ErrSuffix.
pub const SUFFIX_ERROR: &str = "unable to parse quantity's suffix";

/// A parsed quantity: value × 10⁻⁹, `None` when it does not fit (still a valid quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    pub nanos: Option<i128>,
}

/// (power of ten, power of two) of a suffix.
fn suffix_scale(suffix: &str) -> Option<(i32, u32)> {
    let decimal = [
        ("", 0),
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    if let Some((_, e)) = decimal.iter().find(|(s, _)| *s == suffix) {
        return Some((*e, 0));
    }
    let binary = [
        ("Ki", 10),
        ("Mi", 20),
        ("Gi", 30),
        ("Ti", 40),
        ("Pi", 50),
        ("Ei", 60),
    ];
    if let Some((_, e)) = binary.iter().find(|(s, _)| *s == suffix) {
        return Some((0, *e));
    }
    let exp = suffix.strip_prefix(['e', 'E'])?;
    let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    exp.parse::<i32>().ok().map(|e| (e, 0))
}

/// Splits `<signedNumber><suffix>` like Go's parseQuantityString.
fn split(s: &str) -> Result<(bool, &str, &str, &str), &'static str> {
    let b = s.as_bytes();
    let mut pos = 0;
    let negative = match b.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let int_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let int = &s[int_start..pos];
    let mut frac = "";
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let f = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        frac = &s[f..pos];
    }
    if int.is_empty() && frac.is_empty() {
        return Err(FORMAT_ERROR);
    }
    let suffix = &s[pos..];
    let letters = suffix
        .find(|c: char| !"eEinumkKMGTP".contains(c))
        .unwrap_or(suffix.len());
    let rest = &suffix[letters..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FORMAT_ERROR);
    }
    Ok((negative, int, frac, suffix))
}

fn pow(base: i128, exp: u32) -> Option<i128> {
    base.checked_pow(exp)
}

/// ParseQuantity: `Err` carries kube's message.
pub fn parse(s: &str) -> Result<Quantity, &'static str> {
    if s.is_empty() {
        return Err(FORMAT_ERROR);
    }
    let (negative, int, frac, suffix) = split(s)?;
    let (exp10, exp2) = suffix_scale(suffix).ok_or(SUFFIX_ERROR)?;
    let nanos = (|| {
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        let mantissa: i128 = if digits.is_empty() {
            0
        } else if digits.len() > 36 {
            return None;
        } else {
            digits.parse().ok()?
        };
        let shift = 9 + exp10 - i32::try_from(frac.len()).ok()?;
        let scaled = mantissa.checked_mul(pow(2, exp2)?)?;
        let v = if shift >= 0 {
            scaled.checked_mul(pow(10, u32::try_from(shift).ok()?)?)?
        } else {
            // round up to the nano scale, as kube does
            match pow(10, shift.unsigned_abs()) {
                Some(d) => (scaled + d - 1) / d,
                None => i128::from(scaled > 0),
            }
        };
        Some(if negative { -v } else { v })
    })();
    Ok(Quantity { nanos })
}

/// A quantity from JSON (string or number), as Quantity.UnmarshalJSON reads it.
pub fn from_json(v: &serde_json::Value) -> Result<Quantity, &'static str> {
    match v {
        serde_json::Value::String(s) => parse(s.trim()),
        serde_json::Value::Number(n) => parse(&n.to_string()),
        _ => Err(FORMAT_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_scales() {
        let n = |s: &str| parse(s).map(|q| q.nanos);
        assert_eq!(n("1"), Ok(Some(1_000_000_000)));
        assert_eq!(n("500m"), Ok(Some(500_000_000)));
        assert_eq!(n("1Ki"), Ok(Some(1024 * 1_000_000_000)));
        assert_eq!(n("1.5Gi"), Ok(Some(1_610_612_736 * 1_000_000_000)));
        assert_eq!(n("1e3"), Ok(Some(1_000 * 1_000_000_000)));
        assert_eq!(n("-2"), Ok(Some(-2_000_000_000)));
        assert_eq!(n("0.1n"), Ok(Some(1)));
        assert_eq!(n("abc"), Err(FORMAT_ERROR));
        assert_eq!(n("1Zi"), Err(FORMAT_ERROR));
        assert_eq!(n("1iK"), Err(SUFFIX_ERROR));
        assert_eq!(n("."), Err(FORMAT_ERROR));
        assert_eq!(n("1e999999"), Ok(None));
    }
}
