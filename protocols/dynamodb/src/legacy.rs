//! The legacy parameters (`Expected`, `AttributeUpdates`, `KeyConditions`, `ScanFilter`, `QueryFilter`), which
//! KCL's lease code still uses, translated into expression trees so they share the expression evaluator.

use serde_json::Value as Json;

use crate::error::DynamoError;
use crate::expr::{CmpOp, Cond, Operand, PathElem, SetValue, UpdOperand, Update};
use crate::value::{AttrValue, from_json};

fn attr(name: &str) -> Operand {
    Operand::Path(vec![PathElem::Name(name.to_string())])
}

fn values(spec: &Json) -> Result<Vec<AttrValue>, DynamoError> {
    match spec.get("AttributeValueList") {
        Some(Json::Array(a)) => a.iter().map(from_json).collect(),
        Some(Json::Null) | None => Ok(Vec::new()),
        Some(_) => Err(DynamoError::Serialization("Unexpected field type".into())),
    }
}

/// One comparison of the legacy `ComparisonOperator` family.
fn comparison(name: &str, op: &str, vals: Vec<AttrValue>) -> Result<Cond, DynamoError> {
    let count = |n: usize| -> Result<(), DynamoError> {
        if vals.len() == n {
            Ok(())
        } else {
            Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Invalid number of argument(s) for the {op} ComparisonOperator"
            )))
        }
    };
    let v = |i: usize| Operand::Value(vals[i].clone());
    let cmp = |o: CmpOp| Cond::Cmp(attr(name), o, Operand::Value(vals[0].clone()));
    Ok(match op {
        "EQ" => {
            count(1)?;
            cmp(CmpOp::Eq)
        }
        "NE" => {
            count(1)?;
            cmp(CmpOp::Ne)
        }
        "LT" => {
            count(1)?;
            cmp(CmpOp::Lt)
        }
        "LE" => {
            count(1)?;
            cmp(CmpOp::Le)
        }
        "GT" => {
            count(1)?;
            cmp(CmpOp::Gt)
        }
        "GE" => {
            count(1)?;
            cmp(CmpOp::Ge)
        }
        "NULL" => {
            count(0)?;
            Cond::NotExists(vec![PathElem::Name(name.into())])
        }
        "NOT_NULL" => {
            count(0)?;
            Cond::Exists(vec![PathElem::Name(name.into())])
        }
        "CONTAINS" => {
            count(1)?;
            Cond::Contains(attr(name), v(0))
        }
        "NOT_CONTAINS" => {
            count(1)?;
            Cond::Not(Box::new(Cond::Contains(attr(name), v(0))))
        }
        "BEGINS_WITH" => {
            count(1)?;
            Cond::BeginsWith(attr(name), v(0))
        }
        "BETWEEN" => {
            count(2)?;
            Cond::Between(attr(name), v(0), v(1))
        }
        "IN" => {
            if vals.is_empty() {
                count(1)?;
            }
            Cond::In(
                attr(name),
                vals.iter().cloned().map(Operand::Value).collect(),
            )
        }
        other => {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )));
        }
    })
}

fn join(conds: Vec<Cond>, operator: Option<&str>) -> Result<Option<Cond>, DynamoError> {
    let or = match operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(o) => {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{o}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]"
            )));
        }
    };
    // Balanced: `Expected` may name thousands of attributes, and a chain that long would recurse as deep.
    Ok(crate::expr::join(
        conds,
        if or {
            crate::expr::Join::Or
        } else {
            crate::expr::Join::And
        },
    ))
}

/// `Expected` (with `ConditionalOperator`) as a condition.
pub fn expected(spec: &Json, operator: Option<&str>) -> Result<Option<Cond>, DynamoError> {
    let Some(m) = spec.as_object() else {
        return Err(DynamoError::Serialization("Unexpected field type".into()));
    };
    let mut conds = Vec::new();
    for (name, e) in m {
        let value = e
            .get("Value")
            .filter(|v| !v.is_null())
            .map(from_json)
            .transpose()?;
        let exists = e.get("Exists").and_then(Json::as_bool);
        let op = e.get("ComparisonOperator").and_then(Json::as_str);
        let c = if let Some(op) = op {
            if value.is_some() && e.get("AttributeValueList").is_some_and(|v| !v.is_null()) {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: Value and AttributeValueList cannot be used together for Attribute: ".to_string() + name,
                ));
            }
            let vals = match value {
                Some(v) => vec![v],
                None => values(e)?,
            };
            comparison(name, op, vals)?
        } else if exists == Some(false) {
            if value.is_some() {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: {name}"
                )));
            }
            Cond::NotExists(vec![PathElem::Name(name.clone())])
        } else {
            let Some(v) = value else {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: {name}"
                )));
            };
            Cond::Cmp(attr(name), CmpOp::Eq, Operand::Value(v))
        };
        conds.push(c);
    }
    join(conds, operator)
}

/// `KeyConditions`, `ScanFilter`, `QueryFilter`: attribute to `{ComparisonOperator, AttributeValueList}`.
pub fn conditions(spec: &Json, operator: Option<&str>) -> Result<Option<Cond>, DynamoError> {
    let Some(m) = spec.as_object() else {
        return Err(DynamoError::Serialization("Unexpected field type".into()));
    };
    let mut conds = Vec::new();
    for (name, e) in m {
        let op = e.get("ComparisonOperator").and_then(Json::as_str).ok_or_else(|| {
            DynamoError::validation(
                "1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: Member must not be null",
            )
        })?;
        conds.push(comparison(name, op, values(e)?)?);
    }
    join(conds, operator)
}

/// `AttributeUpdates` as an update: PUT sets, ADD adds, DELETE without a value removes the attribute and with a
/// set value removes those elements.
pub fn attribute_updates(spec: &Json) -> Result<Update, DynamoError> {
    let Some(m) = spec.as_object() else {
        return Err(DynamoError::Serialization("Unexpected field type".into()));
    };
    let mut u = Update::default();
    for (name, e) in m {
        let p = vec![PathElem::Name(name.clone())];
        let value = e
            .get("Value")
            .filter(|v| !v.is_null())
            .map(from_json)
            .transpose()?;
        let action = e.get("Action").and_then(Json::as_str).unwrap_or("PUT");
        match (action, value) {
            ("PUT", Some(v)) => u.set.push((p, SetValue::Operand(UpdOperand::Value(v)))),
            ("PUT", None) => {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified: {name}"
                )));
            }
            ("ADD", Some(v)) => u.add.push((p, v)),
            ("ADD", None) => {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified: {name}"
                )));
            }
            ("DELETE", None) => u.remove.push(p),
            ("DELETE", Some(v)) => {
                if !matches!(v, AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_)) {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: DELETE action with value is not supported for the type {}",
                        v.type_name()
                    )));
                }
                u.delete.push((p, v))
            }
            (other, _) => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )));
            }
        }
    }
    Ok(u)
}
