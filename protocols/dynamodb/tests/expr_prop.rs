//! Property tests of the expression language: rendering a random condition tree and parsing it back yields the
//! same tree, and the legacy `Expected` syntax evaluates exactly like the equivalent expression.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use strait_dynamodb::expr::parse::{Placeholders, condition};
use strait_dynamodb::expr::{CmpOp, Cond, Operand, PathElem, eval::eval};
use strait_dynamodb::legacy;
use strait_dynamodb::number::Number;
use strait_dynamodb::value::{AttrValue, Item};

fn num(i: i64) -> AttrValue {
    AttrValue::N(Number::parse(&i.to_string()).expect("number"))
}

fn attr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string())
    ]
}

fn value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![(-5i64..5).prop_map(num), "[xy]{0,2}".prop_map(AttrValue::S)]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ]
}

fn path(a: &str) -> Vec<PathElem> {
    vec![PathElem::Name(a.to_string())]
}

fn leaf() -> impl Strategy<Value = Cond> {
    prop_oneof![
        (attr(), op(), value()).prop_map(|(a, o, v)| Cond::Cmp(
            Operand::Path(path(&a)),
            o,
            Operand::Value(v)
        )),
        attr().prop_map(|a| Cond::Exists(path(&a))),
        attr().prop_map(|a| Cond::NotExists(path(&a))),
        (attr(), value(), value()).prop_map(|(a, lo, hi)| {
            let (lo, hi) = match lo.key_cmp(&hi) {
                Some(std::cmp::Ordering::Greater) => (hi, lo),
                _ => (lo, hi),
            };
            Cond::Between(
                Operand::Path(path(&a)),
                Operand::Value(lo),
                Operand::Value(hi),
            )
        }),
        (attr(), prop::collection::vec(value(), 1..3)).prop_map(|(a, vs)| Cond::In(
            Operand::Path(path(&a)),
            vs.into_iter().map(Operand::Value).collect()
        )),
        (attr(), "[xy]{0,1}").prop_map(|(a, s)| Cond::BeginsWith(
            Operand::Path(path(&a)),
            Operand::Value(AttrValue::S(s))
        )),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Cond::Not(Box::new(a))),
        ]
    })
}

/// Renders `c` fully parenthesised, with every value as a placeholder.
fn render(c: &Cond, vals: &mut Item) -> String {
    let v = |x: &Operand, vals: &mut Item| match x {
        Operand::Value(x) => {
            let k = format!(":v{}", vals.len());
            vals.insert(k.clone(), x.clone());
            k
        }
        Operand::Path(p) => match &p[0] {
            PathElem::Name(n) => n.clone(),
            PathElem::Index(_) => unreachable!("paths here are names"),
        },
        Operand::Size(_) => unreachable!("not generated"),
    };
    match c {
        Cond::Cmp(l, o, r) => {
            let o = match o {
                CmpOp::Eq => "=",
                CmpOp::Ne => "<>",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            };
            format!("{} {o} {}", v(l, vals), v(r, vals))
        }
        Cond::Exists(p) => format!("attribute_exists({})", v(&Operand::Path(p.clone()), vals)),
        Cond::NotExists(p) => format!(
            "attribute_not_exists({})",
            v(&Operand::Path(p.clone()), vals)
        ),
        Cond::Between(x, lo, hi) => {
            format!("{} BETWEEN {} AND {}", v(x, vals), v(lo, vals), v(hi, vals))
        }
        Cond::In(x, list) => {
            let x = v(x, vals);
            let items: Vec<String> = list.iter().map(|o| v(o, vals)).collect();
            format!("{x} IN ({})", items.join(", "))
        }
        Cond::BeginsWith(a, b) => format!("begins_with({}, {})", v(a, vals), v(b, vals)),
        Cond::And(a, b) => format!("({}) AND ({})", render(a, vals), render(b, vals)),
        Cond::Or(a, b) => format!("({}) or ({})", render(a, vals), render(b, vals)),
        Cond::Not(a) => format!("NOT ({})", render(a, vals)),
        Cond::AttrType(..) | Cond::Contains(..) => unreachable!("not generated"),
    }
}

fn item() -> impl Strategy<Value = Item> {
    prop::collection::btree_map(attr(), value(), 0..3)
}

proptest! {
    #[test]
    fn parse_of_render_is_identity_and_evaluates_the_same(c in cond(), it in item()) {
        let mut vals = Item::new();
        let src = render(&c, &mut vals);
        let mut ph = Placeholders::new(BTreeMap::new(), vals);
        let parsed = condition("ConditionExpression", &src, &mut ph).expect("parses");
        prop_assert!(ph.check_unused().is_ok());
        prop_assert_eq!(&parsed, &c);
        prop_assert_eq!(eval(&parsed, &it).expect("eval"), eval(&c, &it).expect("eval"));
    }

    #[test]
    fn legacy_expected_matches_expressions(a in attr(), o in op(), v in value(), it in item()) {
        let name = match o {
            CmpOp::Eq => "EQ", CmpOp::Ne => "NE", CmpOp::Lt => "LT",
            CmpOp::Le => "LE", CmpOp::Gt => "GT", CmpOp::Ge => "GE",
        };
        let spec = json!({ a.clone(): {"ComparisonOperator": name,
            "AttributeValueList": [strait_dynamodb::value::to_json(&v)]}});
        let legacy = legacy::expected(&spec, None).expect("legacy").expect("a condition");
        let expr = Cond::Cmp(Operand::Path(path(&a)), o, Operand::Value(v.clone()));
        prop_assert_eq!(eval(&legacy, &it).expect("eval"), eval(&expr, &it).expect("eval"));
        // And numeric comparisons agree with integer order.
        if let (Some(AttrValue::N(x)), AttrValue::N(y)) = (it.get(&a), &v) {
            let (xi, yi): (i64, i64) = (x.to_string().parse().expect("int"), y.to_string().parse().expect("int"));
            let want = match o {
                CmpOp::Eq => xi == yi, CmpOp::Ne => xi != yi, CmpOp::Lt => xi < yi,
                CmpOp::Le => xi <= yi, CmpOp::Gt => xi > yi, CmpOp::Ge => xi >= yi,
            };
            prop_assert_eq!(eval(&expr, &it).expect("eval"), want);
        }
    }
}
