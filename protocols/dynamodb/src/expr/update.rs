//! Applying an update to an item. Every right-hand side is evaluated against the item as it was before the
//! update (DynamoDB semantics), then the actions are applied: SET, REMOVE, ADD, DELETE.

use super::{Path, SetValue, UpdOperand, Update, path, path_string};
use crate::error::DynamoError;
use crate::value::{AttrValue, Item};

fn operand(old: &Item, o: &UpdOperand) -> Result<AttrValue, DynamoError> {
    match o {
        UpdOperand::Value(v) => Ok(v.clone()),
        UpdOperand::Path(p) => path::get(old, p).cloned().ok_or_else(|| {
            DynamoError::validation(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        }),
        UpdOperand::IfNotExists(p, dflt) => match path::get(old, p) {
            Some(v) => Ok(v.clone()),
            None => operand(old, dflt),
        },
        UpdOperand::ListAppend(a, b) => match (operand(old, a)?, operand(old, b)?) {
            (AttrValue::L(mut a), AttrValue::L(b)) => {
                a.extend(b);
                Ok(AttrValue::L(a))
            }
            (a, b) => Err(DynamoError::validation(format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: {}",
                if matches!(a, AttrValue::L(_)) {
                    b.type_name()
                } else {
                    a.type_name()
                }
            ))),
        },
    }
}

fn arith(old: &Item, a: &UpdOperand, b: &UpdOperand, plus: bool) -> Result<AttrValue, DynamoError> {
    let sym = if plus { "+" } else { "-" };
    match (operand(old, a)?, operand(old, b)?) {
        (AttrValue::N(x), AttrValue::N(y)) => {
            Ok(AttrValue::N(if plus { x.add(&y)? } else { x.sub(&y)? }))
        }
        (x, y) => Err(DynamoError::validation(format!(
            "An operand in the update expression has an incorrect data type; operator or function: {sym}, operand type: {}",
            if matches!(x, AttrValue::N(_)) {
                y.type_name()
            } else {
                x.type_name()
            }
        ))),
    }
}

fn wrong_type(op: &str, t: &str) -> DynamoError {
    DynamoError::validation(format!(
        "An operand in the update expression has an incorrect data type; operator: {op}, operand type: {t}"
    ))
}

/// ADD `v` to the value at `p`: numbers add, sets union, and (legacy `AttributeUpdates` only) lists append.
fn add(item: &mut Item, p: &Path, v: &AttrValue, allow_list: bool) -> Result<(), DynamoError> {
    let new = match (path::get(item, p), v) {
        (None, AttrValue::N(_) | AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_)) => {
            v.clone()
        }
        (None, AttrValue::L(_)) if allow_list => v.clone(),
        (Some(AttrValue::N(a)), AttrValue::N(b)) => AttrValue::N(a.add(b)?),
        (Some(AttrValue::Ss(a)), AttrValue::Ss(b)) => AttrValue::Ss(union(a, b)),
        (Some(AttrValue::Ns(a)), AttrValue::Ns(b)) => AttrValue::Ns(union(a, b)),
        (Some(AttrValue::Bs(a)), AttrValue::Bs(b)) => AttrValue::Bs(union(a, b)),
        (Some(AttrValue::L(a)), AttrValue::L(b)) if allow_list => {
            let mut a = a.clone();
            a.extend(b.iter().cloned());
            AttrValue::L(a)
        }
        (Some(cur), v) if cur.type_name() != v.type_name() => {
            return Err(DynamoError::validation(
                "An operand in the update expression has an incorrect data type",
            ));
        }
        (_, v) => return Err(wrong_type("ADD", v.type_name())),
    };
    path::set(item, p, new)
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

fn minus<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn delete(item: &mut Item, p: &Path, v: &AttrValue) -> Result<(), DynamoError> {
    let new = match (path::get(item, p), v) {
        (None, AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_)) => return Ok(()),
        (Some(AttrValue::Ss(a)), AttrValue::Ss(b)) => AttrValue::Ss(minus(a, b)),
        (Some(AttrValue::Ns(a)), AttrValue::Ns(b)) => AttrValue::Ns(minus(a, b)),
        (Some(AttrValue::Bs(a)), AttrValue::Bs(b)) => AttrValue::Bs(minus(a, b)),
        (Some(cur), v) if cur.type_name() != v.type_name() => {
            return Err(DynamoError::validation(
                "An operand in the update expression has an incorrect data type",
            ));
        }
        (_, v) => return Err(wrong_type("DELETE", v.type_name())),
    };
    let empty = match &new {
        AttrValue::Ss(s) => s.is_empty(),
        AttrValue::Ns(s) => s.is_empty(),
        AttrValue::Bs(s) => s.is_empty(),
        _ => false,
    };
    // A set never becomes empty: removing its last element removes the attribute.
    if empty {
        path::remove(item, p)
    } else {
        path::set(item, p, new)
    }
}

/// Applies `u` to `old`, returning the new item. `legacy` enables the list-append behaviour of legacy ADD.
pub fn apply(u: &Update, old: &Item, legacy: bool) -> Result<Item, DynamoError> {
    check_overlap(u)?;
    let mut sets = Vec::with_capacity(u.set.len());
    for (p, v) in &u.set {
        let val = match v {
            SetValue::Operand(o) => operand(old, o)?,
            SetValue::Plus(a, b) => arith(old, a, b, true)?,
            SetValue::Minus(a, b) => arith(old, a, b, false)?,
        };
        sets.push((p, val));
    }
    let mut item = old.clone();
    for (p, v) in sets {
        path::set(&mut item, p, v)?;
    }
    // List elements are removed from the highest index down so earlier removals do not shift later ones.
    let mut removes: Vec<&Path> = u.remove.iter().collect();
    removes.sort_by(|a, b| {
        b.len()
            .cmp(&a.len())
            .then_with(|| index_key(b).cmp(&index_key(a)))
    });
    for p in removes {
        path::remove(&mut item, p)?;
    }
    for (p, v) in &u.add {
        add(&mut item, p, v, legacy)?;
    }
    for (p, v) in &u.delete {
        delete(&mut item, p, v)?;
    }
    Ok(item)
}

fn index_key(p: &Path) -> usize {
    match p.last() {
        Some(super::PathElem::Index(i)) => *i,
        _ => 0,
    }
}

/// DynamoDB refuses updates where one path is a prefix of (or equal to) another.
fn check_overlap(u: &Update) -> Result<(), DynamoError> {
    let all: Vec<&Path> = u.targets().collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[..i] {
            let n = a.len().min(b.len());
            if a[..n] == b[..n] {
                let (x, y) = (path_string(b), path_string(a));
                return Err(DynamoError::validation(format!(
                    "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                    x.replace('.', ", "),
                    y.replace('.', ", ")
                )));
            }
        }
    }
    Ok(())
}
