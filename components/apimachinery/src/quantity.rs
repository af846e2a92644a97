//! resource.Quantity arithmetic: values kept exactly in nano-units with the format kube
//! remembers (DecimalSI, BinarySI, DecimalExponent), printed in kube's canonical form
//! (`500m`, `1536Mi`, `2k`), added, subtracted and compared as quota and LimitRange need.

use std::cmp::Ordering;
use std::fmt;

use crate::validation::quantity as parser;

/// How a quantity prints (resource.Format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `k`, `M`, `m`, ... suffixes, or none.
    DecimalSI,
    /// `Ki`, `Mi`, ... suffixes.
    BinarySI,
    /// `e3`-style exponents.
    DecimalExponent,
}

/// A quantity: `nanos` × 10⁻⁹ units.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Default for Quantity {
    fn default() -> Self {
        Quantity::zero()
    }
}

/// The format a suffix selects (quantitySuffixer.interpret).
fn format_of(s: &str) -> Format {
    let body = s.trim_start_matches(['+', '-']);
    let suffix_at = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let suffix = &body[suffix_at..];
    if suffix.ends_with('i') {
        Format::BinarySI
    } else if suffix.len() > 1 && suffix.starts_with(['e', 'E']) {
        Format::DecimalExponent
    } else {
        Format::DecimalSI
    }
}

impl Quantity {
    pub const fn zero() -> Quantity {
        Quantity {
            nanos: 0,
            format: Format::DecimalSI,
        }
    }

    /// A whole number of units (resource.NewQuantity with DecimalSI).
    pub fn from_int(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSI,
        }
    }

    /// Thousandths of a unit (resource.NewMilliQuantity with DecimalSI).
    pub fn from_milli(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * 1_000_000,
            format: Format::DecimalSI,
        }
    }

    pub fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity { nanos, format }
    }

    /// ParseQuantity; the error is kube's message. Values too large to hold saturate.
    pub fn parse(s: &str) -> Result<Quantity, &'static str> {
        let s = s.trim();
        let parsed = parser::parse(s)?;
        let nanos = parsed.nanos.unwrap_or(if s.starts_with('-') {
            i128::MIN / 4
        } else {
            i128::MAX / 4
        });
        Ok(Quantity {
            nanos,
            format: format_of(s),
        })
    }

    /// A quantity from JSON (a string, or a number as Quantity.UnmarshalJSON accepts).
    pub fn from_json(v: &serde_json::Value) -> Option<Quantity> {
        match v {
            serde_json::Value::String(s) => Quantity::parse(s).ok(),
            serde_json::Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
            _ => None,
        }
    }

    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Value(): whole units, rounded up away from zero.
    pub fn value(&self) -> i64 {
        clamp(div_away(self.nanos, NANO))
    }

    /// MilliValue(): thousandths, rounded up away from zero.
    pub fn milli_value(&self) -> i64 {
        clamp(div_away(self.nanos, 1_000_000))
    }

    /// q.Add(y): a zero left side takes the right side's format.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        }
    }

    /// q.Sub(y): a zero left side takes the right side's format.
    pub fn sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        }
    }

    /// The canonical string kube prints (Quantity.String).
    pub fn to_canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let whole = self.nanos % NANO == 0;
        let units = self.nanos / NANO;
        let binary = self.format == Format::BinarySI && whole && !(-1024 < units && units < 1024);
        if binary {
            let (mut mantissa, mut exp) = (units, 0usize);
            while mantissa % 1024 == 0 && exp < 6 {
                mantissa /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return format!("{mantissa}{suffix}");
        }
        // mantissa × 10^exponent with exponent a multiple of 3 (from nano scale, -9)
        let (mut mantissa, mut exponent) = (self.nanos, -9i32);
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        match exponent.rem_euclid(3) {
            1 => {
                mantissa *= 10;
                exponent -= 1;
            }
            2 => {
                mantissa *= 100;
                exponent -= 2;
            }
            _ => {}
        }
        if self.format == Format::DecimalExponent {
            return if exponent == 0 {
                mantissa.to_string()
            } else {
                format!("{mantissa}e{exponent}")
            };
        }
        while exponent > 18 {
            mantissa *= 1000;
            exponent -= 3;
        }
        let suffix = match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        format!("{mantissa}{suffix}")
    }
}

fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

fn clamp(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl std::str::FromStr for Quantity {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).expect("valid quantity")
    }

    #[test]
    fn canonical_forms() {
        let canon = |s: &str| q(s).to_string();
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("500m"), "500m");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("2048Mi"), "2Gi");
        assert_eq!(canon("1000Mi"), "1000Mi");
        assert_eq!(canon("512"), "512");
        assert_eq!(canon("1Ki"), "1Ki");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("2E"), "2E");
        assert_eq!(canon("1.5e3"), "1500");
        assert_eq!(canon("100n"), "100n");
        assert_eq!(canon("1000000"), "1M");
        assert_eq!(canon("-2"), "-2");
        assert_eq!(canon("-0.1"), "-100m");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1.5Ki"), "1536");
    }

    #[test]
    fn arithmetic_keeps_kubes_format_rules() {
        let zero = Quantity::zero();
        let sum = zero.add(&q("128Mi"));
        assert_eq!(sum.format(), Format::BinarySI);
        assert_eq!(sum.add(&q("128Mi")).to_string(), "256Mi");
        assert_eq!(q("100m").add(&q("250m")).to_string(), "350m");
        assert_eq!(q("1").add(&q("500m")).to_string(), "1500m");
        assert_eq!(q("1Gi").sub(&q("512Mi")).to_string(), "512Mi");
        assert_eq!(q("1").sub(&q("1")).to_string(), "0");
        assert!(q("100m") < q("1"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("50m").milli_value(), 50);
        assert_eq!(q("1500m").value(), 2);
        assert_eq!(q("1Mi").value(), 1_048_576);
        assert_eq!(Quantity::from_int(3).to_string(), "3");
        assert_eq!(Quantity::from_milli(250).to_string(), "250m");
    }
}
