//! Evaluating conditions against an item (absent item = empty item), with DynamoDB's typing rules: comparisons
//! of different types or of missing attributes are false, ordering is defined for S, N and B only.

use std::cmp::Ordering;

use super::{CmpOp, Cond, Operand, path};
use crate::error::DynamoError;
use crate::number::Number;
use crate::value::{AttrValue, Item};

fn resolve(item: &Item, o: &Operand) -> Option<AttrValue> {
    match o {
        Operand::Value(v) => Some(v.clone()),
        Operand::Path(p) => path::get(item, p).cloned(),
        Operand::Size(p) => {
            let n = match path::get(item, p)? {
                AttrValue::S(s) => s.chars().count(),
                AttrValue::B(b) => b.len(),
                AttrValue::Ss(v) => v.len(),
                AttrValue::Ns(v) => v.len(),
                AttrValue::Bs(v) => v.len(),
                AttrValue::L(v) => v.len(),
                AttrValue::M(v) => v.len(),
                AttrValue::N(_) | AttrValue::Bool(_) | AttrValue::Null => return None,
            };
            Number::parse(&n.to_string()).ok().map(AttrValue::N)
        }
    }
}

fn order(a: &AttrValue, b: &AttrValue) -> Option<Ordering> {
    a.key_cmp(b)
}

/// Evaluates `c`; errors only for type errors DynamoDB reports (an invalid `attribute_type` argument).
///
/// Only this small function recurses (once per AND/OR, whose trees are balanced, and per parenthesised group; a
/// run of NOTs is a loop): the leaves, with their many locals, are evaluated in [`leaf`] on top of it, so the
/// stack a nesting level costs stays small.
pub fn eval(c: &Cond, item: &Item) -> Result<bool, DynamoError> {
    let mut c = c;
    let mut negate = false;
    while let Cond::Not(inner) = c {
        negate = !negate;
        c = inner;
    }
    let v = match c {
        Cond::And(a, b) => eval(a, item)? && eval(b, item)?,
        Cond::Or(a, b) => eval(a, item)? || eval(b, item)?,
        _ => leaf(c, item)?,
    };
    Ok(v != negate)
}

fn leaf(c: &Cond, item: &Item) -> Result<bool, DynamoError> {
    Ok(match c {
        Cond::And(..) | Cond::Or(..) | Cond::Not(..) => eval(c, item)?,
        Cond::Exists(p) => path::get(item, p).is_some(),
        Cond::NotExists(p) => path::get(item, p).is_none(),
        Cond::Cmp(l, op, r) => {
            let (l, r) = (resolve(item, l), resolve(item, r));
            match op {
                CmpOp::Eq => matches!((&l, &r), (Some(a), Some(b)) if a.same(b)),
                // A missing attribute is "not equal" to anything (legacy NE matches absent attributes too).
                CmpOp::Ne => !matches!((&l, &r), (Some(a), Some(b)) if a.same(b)),
                CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
                    let (Some(a), Some(b)) = (l, r) else {
                        return Ok(false);
                    };
                    match order(&a, &b) {
                        None => false,
                        Some(o) => match op {
                            CmpOp::Lt => o == Ordering::Less,
                            CmpOp::Le => o != Ordering::Greater,
                            CmpOp::Gt => o == Ordering::Greater,
                            _ => o != Ordering::Less,
                        },
                    }
                }
            }
        }
        Cond::Between(x, lo, hi) => {
            let (Some(x), Some(lo), Some(hi)) =
                (resolve(item, x), resolve(item, lo), resolve(item, hi))
            else {
                return Ok(false);
            };
            if order(&lo, &hi) == Some(Ordering::Greater) {
                return Err(DynamoError::validation(format!(
                    "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}}}, upper bound operand: AttributeValue: {{{}}}",
                    short(&lo),
                    short(&hi)
                )));
            }
            matches!(order(&x, &lo), Some(Ordering::Greater | Ordering::Equal))
                && matches!(order(&x, &hi), Some(Ordering::Less | Ordering::Equal))
        }
        Cond::In(x, list) => {
            let Some(x) = resolve(item, x) else {
                return Ok(false);
            };
            list.iter()
                .any(|o| resolve(item, o).is_some_and(|v| v.same(&x)))
        }
        Cond::AttrType(p, t) => {
            let want = match resolve(item, t) {
                Some(AttrValue::S(s)) => s,
                _ => {
                    return Err(DynamoError::validation(
                        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: not S",
                    ));
                }
            };
            const TYPES: [&str; 10] = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];
            if !TYPES.contains(&want.as_str()) {
                return Err(DynamoError::validation(format!(
                    "Invalid ConditionExpression: Invalid attribute type name found; type: {want}, valid types: {{ B,N,S,BOOL,NULL,BS,NS,SS,M,L }}"
                )));
            }
            path::get(item, p).is_some_and(|v| v.type_name() == want)
        }
        Cond::BeginsWith(a, b) => match (resolve(item, a), resolve(item, b)) {
            (Some(AttrValue::S(a)), Some(AttrValue::S(b))) => a.starts_with(&b),
            (Some(AttrValue::B(a)), Some(AttrValue::B(b))) => a.starts_with(&b),
            _ => false,
        },
        Cond::Contains(a, b) => match (resolve(item, a), resolve(item, b)) {
            (Some(AttrValue::S(a)), Some(AttrValue::S(b))) => a.contains(&b),
            (Some(AttrValue::B(a)), Some(AttrValue::B(b))) => {
                b.is_empty() || a.windows(b.len()).any(|w| w == b.as_slice())
            }
            (Some(AttrValue::Ss(a)), Some(AttrValue::S(b))) => a.contains(&b),
            (Some(AttrValue::Ns(a)), Some(AttrValue::N(b))) => a.contains(&b),
            (Some(AttrValue::Bs(a)), Some(AttrValue::B(b))) => a.contains(&b),
            (Some(AttrValue::L(a)), Some(b)) => a.iter().any(|x| x.same(&b)),
            _ => false,
        },
    })
}

fn short(v: &AttrValue) -> String {
    let j = crate::value::to_json(v);
    j.as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| {
            format!(
                "{k}:{}",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            )
        })
        .unwrap_or_default()
}
