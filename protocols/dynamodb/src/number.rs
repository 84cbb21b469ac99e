//! DynamoDB numbers: arbitrary-precision decimals of up to 38 significant digits, magnitude 1E-130 to 9.99..E+125,
//! compared and added exactly (never through f64), and rendered in DynamoDB's normalised form (`1.50E2` -> `150`).

use std::cmp::Ordering;

use crate::error::DynamoError;

/// A decimal `(-1)^neg * digits * 10^exp`, normalised: no leading or trailing zero digits; zero has no digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    neg: bool,
    digits: Vec<u8>,
    exp: i32,
}

const MAX_DIGITS: usize = 38;

impl Number {
    pub fn zero() -> Number {
        Number {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// Parses DynamoDB's number syntax and enforces its precision and range limits with its messages.
    pub fn parse(s: &str) -> Result<Number, DynamoError> {
        let bad =
            || DynamoError::Validation("A value provided cannot be converted into a number".into());
        let t = s.trim();
        let (neg, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mant, e) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i64 = rest[i + 1..].parse().map_err(|_| bad())?;
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = match mant.split_once('.') {
            Some((a, b)) => (a, b),
            None => (mant, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let exp = e.saturating_sub(frac.len() as i64);
        let exp = i32::try_from(exp.clamp(-100_000, 100_000)).map_err(|_| bad())?;
        let n = Number { neg, digits, exp }.normalised();
        if n.digits.len() > MAX_DIGITS {
            return Err(DynamoError::Validation(
                "Attempting to store more than 38 significant digits in a Number".into(),
            ));
        }
        n.check_range()?;
        Ok(n)
    }

    fn check_range(&self) -> Result<(), DynamoError> {
        if self.digits.is_empty() {
            return Ok(());
        }
        // Position of the most significant digit: value is in [10^(adj-1), 10^adj).
        let adj = self.digits.len() as i64 + self.exp as i64;
        if adj > 126 {
            return Err(DynamoError::Validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range".into(),
            ));
        }
        if adj < -129 {
            return Err(DynamoError::Validation(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range".into(),
            ));
        }
        Ok(())
    }

    fn normalised(mut self) -> Number {
        let lead = self.digits.iter().take_while(|d| **d == 0).count();
        self.digits.drain(..lead);
        while self.digits.last() == Some(&0) {
            self.digits.pop();
            self.exp += 1;
        }
        if self.digits.is_empty() {
            self.neg = false;
            self.exp = 0;
        }
        self
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn cmp_magnitude(a: &Number, b: &Number) -> Ordering {
        match (a.digits.is_empty(), b.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let aa = a.digits.len() as i64 + a.exp as i64;
        let ba = b.digits.len() as i64 + b.exp as i64;
        aa.cmp(&ba).then_with(|| {
            // Same leading position: compare digit strings, the shorter padded with zeros.
            let n = a.digits.len().max(b.digits.len());
            (0..n)
                .map(|i| {
                    (
                        a.digits.get(i).copied().unwrap_or(0),
                        b.digits.get(i).copied().unwrap_or(0),
                    )
                })
                .map(|(x, y)| x.cmp(&y))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        })
    }

    /// Exact sum; errors as DynamoDB does when the result exceeds the precision or range.
    pub fn add(&self, other: &Number) -> Result<Number, DynamoError> {
        let exp = self.exp.min(other.exp);
        let widen = |n: &Number| {
            let mut d = n.digits.clone();
            d.extend(std::iter::repeat_n(0, (n.exp - exp) as usize));
            d
        };
        let (a, b) = (widen(self), widen(other));
        let r = if self.neg == other.neg {
            Number {
                neg: self.neg,
                digits: add_digits(&a, &b),
                exp,
            }
        } else {
            match cmp_digits(&a, &b) {
                Ordering::Equal => Number::zero(),
                Ordering::Greater => Number {
                    neg: self.neg,
                    digits: sub_digits(&a, &b),
                    exp,
                },
                Ordering::Less => Number {
                    neg: other.neg,
                    digits: sub_digits(&b, &a),
                    exp,
                },
            }
        }
        .normalised();
        if r.digits.len() > MAX_DIGITS {
            return Err(DynamoError::Validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range".into(),
            ));
        }
        r.check_range()?;
        Ok(r)
    }

    pub fn negated(&self) -> Number {
        let mut n = self.clone();
        if !n.digits.is_empty() {
            n.neg = !n.neg;
        }
        n
    }

    pub fn sub(&self, other: &Number) -> Result<Number, DynamoError> {
        self.add(&other.negated())
    }
}

fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|d| **d == 0).count()..];
    let b = &b[b.iter().take_while(|d| **d == 0).count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let x = if i > 0 {
            i -= 1;
            a[i]
        } else {
            0
        };
        let y = if j > 0 {
            j -= 1;
            b[j]
        } else {
            0
        };
        let s = x + y + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    out.reverse();
    out
}

/// `a - b` for `a >= b`.
fn sub_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut j, mut borrow) = (a.len(), b.len(), 0i8);
    while i > 0 {
        i -= 1;
        let y = if j > 0 {
            j -= 1;
            b[j] as i8
        } else {
            0
        };
        let mut d = a[i] as i8 - y - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(d as u8);
    }
    out.reverse();
    out
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => Number::cmp_magnitude(self, other),
            (true, true) => Number::cmp_magnitude(other, self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Number {
    /// Plain decimal notation without exponent, as DynamoDB returns numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let ds: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        if self.exp >= 0 {
            s.push_str(&ds);
            s.extend(std::iter::repeat_n('0', self.exp as usize));
        } else {
            let point = self.digits.len() as i64 + self.exp as i64;
            if point > 0 {
                let p = point as usize;
                s.push_str(&ds[..p]);
                s.push('.');
                s.push_str(&ds[p..]);
            } else {
                s.push_str("0.");
                s.extend(std::iter::repeat_n('0', (-point) as usize));
                s.push_str(&ds);
            }
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).expect("number")
    }

    #[test]
    fn normalises_and_compares() {
        assert_eq!(n("1.50E2").to_string(), "150");
        assert_eq!(n("-0.000").to_string(), "0");
        assert_eq!(n("00012.3400").to_string(), "12.34");
        assert_eq!(n("1e-3").to_string(), "0.001");
        assert!(n("10") > n("9.99"));
        assert!(n("-10") < n("-9.99"));
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("0.1").add(&n("0.2")).expect("sum").to_string(), "0.3");
        assert_eq!(n("5").sub(&n("7.5")).expect("diff").to_string(), "-2.5");
        assert_eq!(
            n("99999999999999999999999999999999999999").to_string(),
            "99999999999999999999999999999999999999"
        );
        assert!(Number::parse("123456789012345678901234567890123456789").is_err());
        assert!(Number::parse("abc").is_err());
        assert!(Number::parse("1e126").is_err());
    }
}
