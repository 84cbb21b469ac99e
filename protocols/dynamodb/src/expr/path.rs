//! Reading, writing and projecting document paths (`a.b[0]`) in an item.

use super::{Path, PathElem};
use crate::error::DynamoError;
use crate::value::{AttrValue, Item};

/// The value at `path`, if every step exists with the right type.
pub fn get<'a>(item: &'a Item, path: &Path) -> Option<&'a AttrValue> {
    let (first, rest) = path.split_first()?;
    let PathElem::Name(n) = first else {
        return None;
    };
    let mut cur = item.get(n)?;
    for e in rest {
        cur = match (e, cur) {
            (PathElem::Name(n), AttrValue::M(m)) => m.get(n)?,
            (PathElem::Index(i), AttrValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn invalid() -> DynamoError {
    DynamoError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

/// Sets `path` to `v`; the parent must exist. An index past the end of a list appends, as DynamoDB does.
pub fn set(item: &mut Item, path: &Path, v: AttrValue) -> Result<(), DynamoError> {
    let Some((PathElem::Name(n), rest)) = path.split_first() else {
        return Err(invalid());
    };
    if rest.is_empty() {
        item.insert(n.clone(), v);
        return Ok(());
    }
    let cur = item.get_mut(n).ok_or_else(invalid)?;
    set_in(cur, rest, v)
}

fn set_in(cur: &mut AttrValue, path: &[PathElem], v: AttrValue) -> Result<(), DynamoError> {
    let Some((e, rest)) = path.split_first() else {
        *cur = v;
        return Ok(());
    };
    match (e, cur) {
        (PathElem::Name(n), AttrValue::M(m)) => {
            if rest.is_empty() {
                m.insert(n.clone(), v);
                Ok(())
            } else {
                set_in(m.get_mut(n).ok_or_else(invalid)?, rest, v)
            }
        }
        (PathElem::Index(i), AttrValue::L(l)) => {
            if rest.is_empty() {
                if *i < l.len() {
                    l[*i] = v;
                } else {
                    l.push(v);
                }
                Ok(())
            } else {
                set_in(l.get_mut(*i).ok_or_else(invalid)?, rest, v)
            }
        }
        _ => Err(invalid()),
    }
}

/// Removes `path` if present (a missing attribute is not an error).
pub fn remove(item: &mut Item, path: &Path) -> Result<(), DynamoError> {
    let Some((PathElem::Name(n), rest)) = path.split_first() else {
        return Err(invalid());
    };
    if rest.is_empty() {
        item.remove(n);
        return Ok(());
    }
    match item.get_mut(n) {
        Some(cur) => remove_in(cur, rest),
        None => Ok(()),
    }
}

fn remove_in(cur: &mut AttrValue, path: &[PathElem]) -> Result<(), DynamoError> {
    let Some((e, rest)) = path.split_first() else {
        return Ok(());
    };
    match (e, cur) {
        (PathElem::Name(n), AttrValue::M(m)) => {
            if rest.is_empty() {
                m.remove(n);
                Ok(())
            } else {
                m.get_mut(n).map_or(Ok(()), |c| remove_in(c, rest))
            }
        }
        (PathElem::Index(i), AttrValue::L(l)) => {
            if rest.is_empty() {
                if *i < l.len() {
                    l.remove(*i);
                }
                Ok(())
            } else {
                l.get_mut(*i).map_or(Ok(()), |c| remove_in(c, rest))
            }
        }
        _ => Err(invalid()),
    }
}

/// The item reduced to `paths`; list elements picked by index are compacted, as DynamoDB returns them.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut out = Item::new();
    for p in paths {
        let Some(v) = get(item, p) else { continue };
        let Some((PathElem::Name(n), rest)) = p.split_first() else {
            continue;
        };
        let slot = out
            .entry(n.clone())
            .or_insert_with(|| skeleton(rest.first()));
        place(slot, rest, v.clone());
    }
    out
}

fn skeleton(next: Option<&PathElem>) -> AttrValue {
    match next {
        Some(PathElem::Name(_)) => AttrValue::M(Default::default()),
        Some(PathElem::Index(_)) => AttrValue::L(Vec::new()),
        None => AttrValue::Null,
    }
}

fn place(slot: &mut AttrValue, rest: &[PathElem], v: AttrValue) {
    let Some((e, tail)) = rest.split_first() else {
        *slot = v;
        return;
    };
    match (e, slot) {
        (PathElem::Name(n), AttrValue::M(m)) => {
            let s = m.entry(n.clone()).or_insert_with(|| skeleton(tail.first()));
            place(s, tail, v);
        }
        (PathElem::Index(_), AttrValue::L(l)) => {
            let mut s = skeleton(tail.first());
            place(&mut s, tail, v);
            l.push(s);
        }
        // Two projected paths disagree about the shape (DynamoDB refuses overlapping paths); keep the first.
        _ => {}
    }
}
