//! Fuzzing of the expression parsers and the attribute-value decoder: random token soup, mutated valid
//! expressions and deeply nested ones (the attack that once overflowed a worker's stack and aborted the process).
//! Whatever arrives, the answer is a parsed expression or a ValidationException; nesting past the limits gets the
//! nesting, redundant-parentheses or size message; nothing panics. Every case runs on a thread with a tokio
//! worker's 2 MiB stack, so a stack overflow would abort the test. Runs a bounded number of cases in CI
//! (`PROPTEST_CASES` raises it for longer local runs).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use strait_dynamodb::error::DynamoError;
use strait_dynamodb::expr::eval::eval;
use strait_dynamodb::expr::parse::{
    MAX_EXPRESSION_BYTES, MAX_FUNCTION_NESTING, MAX_NESTING_DEPTH, Placeholders, condition,
    projection, update,
};
use strait_dynamodb::expr::update::apply;
use strait_dynamodb::value::{AttrValue, Item, MAX_NESTING_LEVELS, from_json};

const WORKER_STACK: usize = 2 * 1024 * 1024;

fn placeholders() -> Placeholders {
    let names: BTreeMap<String, String> =
        [("#n".into(), "k".into()), ("#m".into(), "m".into())].into();
    let values: Item = [
        (":v".to_string(), AttrValue::S("a".into())),
        (":l".to_string(), AttrValue::L(vec![AttrValue::Null])),
        (":s".to_string(), AttrValue::Ss(vec!["x".into()])),
    ]
    .into();
    Placeholders::new(names, values)
}

fn item() -> Item {
    [
        ("k".to_string(), AttrValue::S("a".into())),
        (
            "m".to_string(),
            AttrValue::M([("k".to_string(), AttrValue::L(vec![]))].into()),
        ),
    ]
    .into()
}

/// Parses `src` as every kind of expression (and evaluates or applies what parses), on a worker-sized stack.
/// Returns the condition parser's error message, if any.
fn every_parser(src: String) -> Option<String> {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let mut cond_err = None;
            for kind in [
                "ConditionExpression",
                "FilterExpression",
                "KeyConditionExpression",
            ] {
                match condition(kind, &src, &mut placeholders()) {
                    Ok(c) => {
                        let _ = eval(&c, &item());
                        let _ = eval(&c, &Item::new());
                        drop(c.clone());
                    }
                    Err(DynamoError::Validation(m)) => cond_err = Some(m),
                    Err(other) => panic!("{kind}: not a ValidationException: {other:?}"),
                }
            }
            match update(&src, &mut placeholders()) {
                Ok(u) => {
                    let _ = apply(&u, &item(), false);
                    let _ = apply(&u, &Item::new(), true);
                }
                Err(DynamoError::Validation(_)) => {}
                Err(other) => panic!("UpdateExpression: not a ValidationException: {other:?}"),
            }
            match projection(&src, &mut placeholders()) {
                Ok(p) => drop(strait_dynamodb::expr::path::project(&item(), &p)),
                Err(DynamoError::Validation(_)) => {}
                Err(other) => panic!("ProjectionExpression: not a ValidationException: {other:?}"),
            }
            cond_err
        })
        .expect("thread")
        .join()
        .expect("the parsers panicked or overflowed the stack")
}

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        ",",
        ".",
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        " ",
        "NOT ",
        " AND ",
        " OR ",
        " BETWEEN ",
        " IN ",
        "k",
        "m",
        "#n",
        "#m",
        "#x",
        ":v",
        ":l",
        ":s",
        ":x",
        "0",
        "7",
        "99999999999999999999",
        "size(",
        "attribute_exists(",
        "attribute_not_exists(",
        "attribute_type(",
        "begins_with(",
        "contains(",
        "nope(",
        "SET ",
        "REMOVE ",
        "ADD ",
        "DELETE ",
        "list_append(",
        "if_not_exists(",
        "é",
        "\u{0}",
        "'",
        "\"",
    ])
}

/// Valid expressions of each kind, to be mutated.
const VALID: &[&str] = &[
    "k = :v",
    "NOT (k = :v AND attribute_exists(m.k[0])) OR begins_with(#n, :v)",
    "k BETWEEN :v AND :v",
    "k IN (:v, :v, :v)",
    "size(m) > :v AND contains(:s, :v)",
    "SET k = list_append(if_not_exists(m.k, :l), :l), #m = :v REMOVE m.k[0]",
    "ADD k :s DELETE #m :s",
    "k, m.k[0], #n",
];

/// A nesting of `depth` levels in one of the shapes an attack (or a client library) produces.
fn nested(shape: u8, depth: usize) -> String {
    match shape % 7 {
        0 => format!("{}k = :v{}", "(".repeat(depth), ")".repeat(depth)),
        1 => format!("{}k = :v", "NOT ".repeat(depth)),
        2 => format!("{}k = :v{}", "NOT (".repeat(depth), ")".repeat(depth)),
        // boto3's `&`: every AND parenthesised, nested to the left.
        3 => format!(
            "{}k = :v{}",
            "(".repeat(depth),
            " AND k = :v)".repeat(depth)
        ),
        4 => format!(
            "SET k = {}:l{}",
            "list_append(:l, ".repeat(depth),
            ")".repeat(depth)
        ),
        // Unbalanced: opening parentheses only.
        5 => format!("{}k = :v", "(".repeat(depth)),
        _ => vec!["k = :v"; depth.max(1)].join(" OR "),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(token(), 0..120)) {
        every_parser(toks.concat());
    }

    #[test]
    fn mutated_valid_expressions_never_panic(
        pick in 0..VALID.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, token()), 1..6),
    ) {
        let mut s: Vec<char> = VALID[pick].chars().collect();
        for (at, op, tok) in edits {
            let i = at.index(s.len() + 1);
            match op {
                0 if i < s.len() => { s.remove(i); }
                1 => { for (j, c) in tok.chars().enumerate() { s.insert(i + j, c); } }
                _ if i < s.len() => { s[i] = tok.chars().next().unwrap_or(' '); }
                _ => {}
            }
        }
        every_parser(s.into_iter().collect());
    }

    #[test]
    fn deep_nesting_gets_the_validation_error(shape in 0u8..7, depth in 0usize..1500) {
        let src = nested(shape, depth);
        let bytes = src.len();
        let err = every_parser(src);
        let update_shape = shape % 7 == 4;
        // The depth a shape reaches (`NOT (` is two levels), and from which depth its parentheses are redundant.
        let (levels, redundant_at) = match shape % 7 {
            0 => (depth, 2),
            2 => (2 * depth, usize::MAX),
            6 => (0, usize::MAX),
            _ => (depth, usize::MAX),
        };
        if bytes > MAX_EXPRESSION_BYTES {
            let m = err.expect("too long");
            prop_assert!(m.contains("Expression size has exceeded the maximum allowed size"), "{}", m);
        } else if update_shape {
            let r = update(&nested(shape, depth), &mut placeholders());
            if depth > MAX_FUNCTION_NESTING {
                let m = r.expect_err("too deep").to_string();
                prop_assert!(m.contains("nested too deeply"), "{}", m);
            } else {
                prop_assert!(r.is_ok(), "{:?}", r);
            }
        } else if depth >= redundant_at {
            let m = err.expect("redundant");
            prop_assert!(m.contains("The expression has redundant parentheses;"), "{}", m);
        } else if levels > MAX_NESTING_DEPTH {
            let m = err.expect("too deep");
            prop_assert!(m.contains("nested too deeply"), "{}", m);
        } else if shape % 7 == 5 && depth > 0 {
            let m = err.expect("unbalanced");
            prop_assert!(m.contains("Syntax error"), "{}", m);
        } else {
            prop_assert!(err.is_none(), "depth {} shape {}: {:?}", depth, shape, err);
        }
    }

    #[test]
    fn nested_attribute_values_are_bounded(depth in 0usize..200, map in any::<bool>()) {
        let v = (0..depth).fold(json!({"S": "x"}), |v, _| if map { json!({"M": {"k": v}}) } else { json!({"L": [v]}) });
        let r = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn(move || from_json(&v).map(|a| drop(a.clone())))
            .expect("thread")
            .join()
            .expect("no panic");
        if depth > MAX_NESTING_LEVELS {
            let m = r.expect_err("too deep").to_string();
            prop_assert!(m.starts_with("Nesting Levels have exceeded supported limits"), "{}", m);
        } else {
            prop_assert!(r.is_ok());
        }
    }

    #[test]
    fn random_attribute_value_json_never_panics(v in json_value()) {
        let _ = from_json(&v);
    }
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[SNB0-9a-z=+/.eE-]{0,8}".prop_map(Json::String),
    ];
    leaf.prop_recursive(8, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "X"
                ])
                .prop_map(str::to_string),
                inner,
                0..3
            )
            .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}
