//! Tokeniser and recursive-descent parsers for DynamoDB's expression languages, resolving `#name` and `:value`
//! placeholders as they are read and recording which were used (DynamoDB refuses unused ones).

use std::collections::{BTreeMap, BTreeSet};

use super::lex::{Tok, lex, near, syntax};
use super::{CmpOp, Cond, Operand, Path, PathElem, SetValue, UpdOperand, Update};
use crate::error::DynamoError;
use crate::value::{AttrValue, Item};

/// AWS's limit on the length of any expression string, in bytes (UTF-8).
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// How deeply parenthesised groups and `NOT`s may nest in a condition. Evaluating, cloning and dropping the tree
/// recurse once per level, so without a bound a 4 KB expression of `(` or `NOT ` overflows a worker's stack and
/// aborts the process. AWS documents no such limit. This one is above what a 4 KB expression built by a client
/// library can reach (boto3 parenthesises every `&`: `((a AND b) AND c)`, about 20 bytes a level), and its
/// worst case takes under 384 KiB of stack in a debug build (see the tests), a sixth of a tokio worker's.
pub const MAX_NESTING_DEPTH: usize = 256;

/// How deeply update functions may nest (`list_append(if_not_exists(a, :l), :m)` is 2). Parsing and applying
/// them recurse with larger frames than conditions; real expressions nest two or three.
pub const MAX_FUNCTION_NESTING: usize = 32;

/// The placeholders of one request, shared by all its expressions, and which of them were used.
#[derive(Debug, Default)]
pub struct Placeholders {
    names: BTreeMap<String, String>,
    values: Item,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl Placeholders {
    pub fn new(names: BTreeMap<String, String>, values: Item) -> Placeholders {
        Placeholders {
            names,
            values,
            ..Default::default()
        }
    }

    /// DynamoDB refuses placeholders no expression used; called after every expression was parsed.
    pub fn check_unused(&self) -> Result<(), DynamoError> {
        let unused: Vec<&String> = self
            .names
            .keys()
            .filter(|k| !self.used_names.contains(*k))
            .collect();
        if !unused.is_empty() {
            return Err(DynamoError::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                join(&unused)
            )));
        }
        let unused: Vec<&String> = self
            .values
            .keys()
            .filter(|k| !self.used_values.contains(*k))
            .collect();
        if !unused.is_empty() {
            return Err(DynamoError::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                join(&unused)
            )));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.values.is_empty()
    }
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

struct Parser<'a> {
    kind: &'static str,
    src: &'a str,
    toks: Vec<Tok>,
    pos: usize,
    ph: &'a mut Placeholders,
    /// Current nesting of groups, `NOT`s and update functions (see [`MAX_NESTING_DEPTH`]).
    depth: usize,
    /// Set when the parse stopped at [`MAX_NESTING_DEPTH`]; [`Parser::finish`] words the answer.
    too_deep: bool,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
}

impl<'a> Parser<'a> {
    fn new(
        kind: &'static str,
        src: &'a str,
        ph: &'a mut Placeholders,
    ) -> Result<Parser<'a>, DynamoError> {
        if src.trim().is_empty() {
            return Err(DynamoError::validation(format!(
                "Invalid {kind}: The expression can not be empty;"
            )));
        }
        // AWS's wording; checked before tokenising so the parse's cost is bounded too.
        if src.len() > MAX_EXPRESSION_BYTES {
            return Err(DynamoError::validation(format!(
                "Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {}",
                src.len()
            )));
        }
        Ok(Parser {
            kind,
            src,
            toks: lex(kind, src)?,
            pos: 0,
            ph,
            depth: 0,
            too_deep: false,
        })
    }

    /// Enters one level of nesting, refusing to go past [`MAX_NESTING_DEPTH`]. Every recursive rule calls this
    /// before recursing and [`Parser::leave`] after, so the parser's own stack use is bounded.
    fn enter(&mut self) -> Result<(), DynamoError> {
        self.enter_within(MAX_NESTING_DEPTH)
    }

    fn enter_within(&mut self, limit: usize) -> Result<(), DynamoError> {
        if self.depth >= limit {
            self.too_deep = true;
            return Err(self.err_at());
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Turns the result of a whole parse into the answer: AWS refuses doubled parentheses (`((a = :v))`) with its
    /// own message once the expression is otherwise valid; that is also the answer to an expression too deeply
    /// nested because of them (the usual attack, `((((...))))`). Other too-deep expressions get a plain message.
    fn finish<T>(&self, r: Result<T, DynamoError>) -> Result<T, DynamoError> {
        let too_deep = self.too_deep;
        if (r.is_ok() || too_deep) && redundant_parens(&self.toks) {
            return Err(DynamoError::validation(format!(
                "Invalid {}: The expression has redundant parentheses;",
                self.kind
            )));
        }
        if too_deep {
            let max = if self.kind == "UpdateExpression" {
                MAX_FUNCTION_NESTING
            } else {
                MAX_NESTING_DEPTH
            };
            return Err(DynamoError::validation(format!(
                "Invalid {}: The expression is nested too deeply; maximum nesting depth: {max}",
                self.kind
            )));
        }
        r
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err_at(&self) -> DynamoError {
        match self.toks.get(self.pos) {
            Some(t) => syntax(self.kind, &t.text(), self.src),
            None => DynamoError::validation(format!(
                "Invalid {}: Syntax error; token: \"<EOF>\", near: \"{}\"",
                self.kind,
                near(self.src, self.src.len())
            )),
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), DynamoError> {
        if self.peek() == Some(&Tok::Punct(leak(p))) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err_at())
        }
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.peek() == Some(&Tok::Punct(leak(p))) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> Result<(), DynamoError> {
        if self.pos < self.toks.len() {
            Err(self.err_at())
        } else {
            Ok(())
        }
    }

    fn name(&mut self) -> Result<String, DynamoError> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            Some(Tok::Name(n)) => {
                let v = self.ph.names.get(&n).cloned().ok_or_else(|| {
                    DynamoError::validation(format!(
                        "Invalid {}: An expression attribute name used in the document path is not defined; attribute name: {n}",
                        self.kind
                    ))
                })?;
                self.ph.used_names.insert(n);
                Ok(v)
            }
            _ => {
                self.pos -= 1;
                Err(self.err_at())
            }
        }
    }

    fn path(&mut self) -> Result<Path, DynamoError> {
        let mut p = vec![PathElem::Name(self.name()?)];
        loop {
            if self.eat(".") {
                p.push(PathElem::Name(self.name()?));
            } else if self.eat("[") {
                match self.next() {
                    Some(Tok::Int(i)) => p.push(PathElem::Index(i)),
                    _ => {
                        self.pos -= 1;
                        return Err(self.err_at());
                    }
                }
                self.expect("]")?;
            } else {
                return Ok(p);
            }
        }
    }

    fn value(&mut self, v: &str) -> Result<AttrValue, DynamoError> {
        let x = self.ph.values.get(v).cloned().ok_or_else(|| {
            DynamoError::validation(format!(
                "Invalid {}: An expression attribute value used in expression is not defined; attribute value: {v}",
                self.kind
            ))
        })?;
        self.ph.used_values.insert(v.to_string());
        Ok(x)
    }

    // ---- conditions ----

    // Conditions are read without recursion: an explicit stack holds one entry per open parenthesised group, so
    // however an expression nests, the parser's own stack use is constant. `a OR b AND c ...` is read as lists
    // and built as balanced trees (see [`super::join`]). Groups and `NOT`s together are still bounded by
    // [`MAX_NESTING_DEPTH`], because evaluating, cloning and dropping the tree recurse once per level.

    fn cond(&mut self) -> Result<Cond, DynamoError> {
        /// A group being read: its OR operands so far, the AND operands of the current one, and the `NOT`s that
        /// stood before the group's `(` (applied when it closes).
        #[derive(Default)]
        struct Group {
            ors: Vec<Cond>,
            ands: Vec<Cond>,
            nots: usize,
        }
        let mut open: Vec<Group> = Vec::new();
        let mut cur = Group::default();
        loop {
            let mut nots = 0;
            while is_kw(self.peek(), "NOT") {
                self.enter()?;
                self.pos += 1;
                nots += 1;
            }
            if self.eat("(") {
                self.enter()?;
                open.push(std::mem::replace(
                    &mut cur,
                    Group {
                        nots,
                        ..Group::default()
                    },
                ));
                continue;
            }
            let mut c = not_n(self.leaf()?, nots);
            self.depth -= nots;
            // After an operand: an AND or OR continues the current group; otherwise the group ends, and with it
            // perhaps the groups around it, each with its `)`.
            loop {
                cur.ands.push(c);
                if is_kw(self.peek(), "AND") {
                    self.pos += 1;
                    break;
                }
                let ands = std::mem::take(&mut cur.ands);
                cur.ors
                    .push(super::join(ands, super::Join::And).ok_or_else(|| self.err_at())?);
                if is_kw(self.peek(), "OR") {
                    self.pos += 1;
                    break;
                }
                let ors = std::mem::take(&mut cur.ors);
                let g = super::join(ors, super::Join::Or).ok_or_else(|| self.err_at())?;
                let Some(parent) = open.pop() else {
                    return Ok(g);
                };
                self.expect(")")?;
                self.leave();
                self.depth -= cur.nots;
                c = not_n(g, cur.nots);
                cur = parent;
            }
        }
    }

    fn leaf(&mut self) -> Result<Cond, DynamoError> {
        if let (Some(Tok::Ident(f)), Some(Tok::Punct("("))) = (self.peek(), self.peek2()) {
            let f = f.clone();
            if f != "size" {
                self.pos += 2;
                let c = self.function(&f)?;
                self.expect(")")?;
                return Ok(c);
            }
        }
        let l = self.operand()?;
        if is_kw(self.peek(), "BETWEEN") {
            self.pos += 1;
            let lo = self.operand()?;
            if !is_kw(self.peek(), "AND") {
                return Err(self.err_at());
            }
            self.pos += 1;
            let hi = self.operand()?;
            return Ok(Cond::Between(l, lo, hi));
        }
        if is_kw(self.peek(), "IN") {
            self.pos += 1;
            self.expect("(")?;
            let mut list = vec![self.operand()?];
            while self.eat(",") {
                list.push(self.operand()?);
            }
            self.expect(")")?;
            return Ok(Cond::In(l, list));
        }
        let op = match self.next() {
            Some(Tok::Punct("=")) => CmpOp::Eq,
            Some(Tok::Punct("<>")) => CmpOp::Ne,
            Some(Tok::Punct("<")) => CmpOp::Lt,
            Some(Tok::Punct("<=")) => CmpOp::Le,
            Some(Tok::Punct(">")) => CmpOp::Gt,
            Some(Tok::Punct(">=")) => CmpOp::Ge,
            _ => {
                self.pos -= 1;
                return Err(self.err_at());
            }
        };
        let r = self.operand()?;
        Ok(Cond::Cmp(l, op, r))
    }

    fn function(&mut self, f: &str) -> Result<Cond, DynamoError> {
        match f {
            "attribute_exists" => Ok(Cond::Exists(self.path()?)),
            "attribute_not_exists" => Ok(Cond::NotExists(self.path()?)),
            "attribute_type" => {
                let p = self.path()?;
                self.expect(",")?;
                Ok(Cond::AttrType(p, self.operand()?))
            }
            "begins_with" => {
                let a = self.operand()?;
                self.expect(",")?;
                Ok(Cond::BeginsWith(a, self.operand()?))
            }
            "contains" => {
                let a = self.operand()?;
                self.expect(",")?;
                Ok(Cond::Contains(a, self.operand()?))
            }
            other => Err(DynamoError::validation(format!(
                "Invalid {}: Invalid function name; function: {other}",
                self.kind
            ))),
        }
    }

    fn operand(&mut self) -> Result<Operand, DynamoError> {
        match self.peek().cloned() {
            Some(Tok::Value(v)) => {
                self.pos += 1;
                Ok(Operand::Value(self.value(&v)?))
            }
            Some(Tok::Ident(f)) if f == "size" && self.peek2() == Some(&Tok::Punct("(")) => {
                self.pos += 2;
                let p = self.path()?;
                self.expect(")")?;
                Ok(Operand::Size(p))
            }
            Some(Tok::Ident(_)) | Some(Tok::Name(_)) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.err_at()),
        }
    }

    // ---- updates ----

    fn update(&mut self) -> Result<Update, DynamoError> {
        let mut u = Update::default();
        let mut seen: Vec<String> = Vec::new();
        while let Some(Tok::Ident(kw)) = self.peek().cloned() {
            let k = kw.to_ascii_uppercase();
            if seen.contains(&k) {
                return Err(DynamoError::validation(format!(
                    "Invalid UpdateExpression: The \"{k}\" section can only be used once in an update expression;"
                )));
            }
            self.pos += 1;
            match k.as_str() {
                "SET" => loop {
                    let p = self.path()?;
                    self.expect("=")?;
                    let a = self.upd_operand()?;
                    let v = if self.eat("+") {
                        SetValue::Plus(a, self.upd_operand()?)
                    } else if self.eat("-") {
                        SetValue::Minus(a, self.upd_operand()?)
                    } else {
                        SetValue::Operand(a)
                    };
                    u.set.push((p, v));
                    if !self.eat(",") {
                        break;
                    }
                },
                "REMOVE" => loop {
                    u.remove.push(self.path()?);
                    if !self.eat(",") {
                        break;
                    }
                },
                "ADD" | "DELETE" => loop {
                    let p = self.path()?;
                    let v = match self.next() {
                        Some(Tok::Value(v)) => self.value(&v)?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.err_at());
                        }
                    };
                    if k == "ADD" {
                        u.add.push((p, v))
                    } else {
                        u.delete.push((p, v))
                    }
                    if !self.eat(",") {
                        break;
                    }
                },
                _ => {
                    self.pos -= 1;
                    return Err(self.err_at());
                }
            }
            seen.push(k);
        }
        if seen.is_empty() {
            return Err(self.err_at());
        }
        Ok(u)
    }

    fn upd_operand(&mut self) -> Result<UpdOperand, DynamoError> {
        match self.peek().cloned() {
            Some(Tok::Value(v)) => {
                self.pos += 1;
                Ok(UpdOperand::Value(self.value(&v)?))
            }
            Some(Tok::Ident(f)) if self.peek2() == Some(&Tok::Punct("(")) => {
                self.pos += 2;
                self.enter_within(MAX_FUNCTION_NESTING)?;
                let r = self.upd_function(&f);
                self.leave();
                r
            }
            Some(Tok::Ident(_)) | Some(Tok::Name(_)) => Ok(UpdOperand::Path(self.path()?)),
            _ => Err(self.err_at()),
        }
    }

    /// The rest of `if_not_exists(` or `list_append(`, whose arguments may be functions again.
    fn upd_function(&mut self, f: &str) -> Result<UpdOperand, DynamoError> {
        let r = match f {
            "if_not_exists" => {
                let p = self.path()?;
                self.expect(",")?;
                UpdOperand::IfNotExists(p, Box::new(self.upd_operand()?))
            }
            "list_append" => {
                let a = self.upd_operand()?;
                self.expect(",")?;
                UpdOperand::ListAppend(Box::new(a), Box::new(self.upd_operand()?))
            }
            other => {
                return Err(DynamoError::validation(format!(
                    "Invalid UpdateExpression: Invalid function name; function: {other}"
                )));
            }
        };
        self.expect(")")?;
        Ok(r)
    }
}

/// Whether a parenthesised group directly encloses another that spans all of it (`((a = :v))`), which AWS refuses.
/// Iterative, on the tokens, so it runs in bounded stack on any input; unbalanced parentheses are left to the parser.
fn redundant_parens(toks: &[Tok]) -> bool {
    let open = Tok::Punct("(");
    let close = Tok::Punct(")");
    let mut closing = vec![usize::MAX; toks.len()];
    let mut stack = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if *t == open {
            stack.push(i);
        } else if *t == close {
            match stack.pop() {
                Some(o) => closing[o] = i,
                None => return false,
            }
        }
    }
    if !stack.is_empty() {
        return false;
    }
    toks.windows(2).enumerate().any(|(i, w)| {
        w[0] == open
            && w[1] == open
            && closing[i + 1] != usize::MAX
            && closing[i + 1] + 1 == closing[i]
    })
}

/// `c` under `n` NOTs.
fn not_n(c: Cond, n: usize) -> Cond {
    (0..n).fold(c, |c, _| Cond::Not(Box::new(c)))
}

/// `&'static str` for the punctuation set, so tokens compare without allocating.
fn leak(p: &str) -> &'static str {
    const ALL: [&str; 14] = [
        "(", ")", "[", "]", ",", ".", "=", "<>", "<", "<=", ">", ">=", "+", "-",
    ];
    ALL.iter().find(|x| **x == p).copied().unwrap_or("")
}

/// Parses a condition, filter or key-condition expression; `kind` names it in error messages
/// (`ConditionExpression`, `FilterExpression`, `KeyConditionExpression`).
pub fn condition(
    kind: &'static str,
    src: &str,
    ph: &mut Placeholders,
) -> Result<Cond, DynamoError> {
    let mut p = Parser::new(kind, src, ph)?;
    let r = p.cond().and_then(|c| p.done().map(|()| c));
    p.finish(r)
}

pub fn update(src: &str, ph: &mut Placeholders) -> Result<Update, DynamoError> {
    let mut p = Parser::new("UpdateExpression", src, ph)?;
    let r = p.update().and_then(|u| p.done().map(|()| u));
    p.finish(r)
}

pub fn projection(src: &str, ph: &mut Placeholders) -> Result<Vec<Path>, DynamoError> {
    let mut p = Parser::new("ProjectionExpression", src, ph)?;
    let r = (|| {
        let mut out = vec![p.path()?];
        while p.eat(",") {
            out.push(p.path()?);
        }
        p.done()?;
        Ok(out)
    })();
    p.finish(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::eval::eval;

    fn ph() -> Placeholders {
        let mut values = Item::new();
        values.insert(":v".into(), AttrValue::S("a".into()));
        values.insert(":l".into(), AttrValue::L(Vec::new()));
        Placeholders::new(BTreeMap::new(), values)
    }

    fn cond_err(src: &str) -> String {
        match condition("ConditionExpression", src, &mut ph()) {
            Err(DynamoError::Validation(m)) => m,
            other => panic!("expected a ValidationException for {src:.40}..., got {other:?}"),
        }
    }

    /// Runs `f` on a thread with a quarter of a tokio worker's stack: what passes here has a 4x margin there.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(f)
            .expect("thread")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn the_issue_reproductions_are_refused() {
        on_small_stack(|| {
            let parens = format!("{}k = :v{}", "(".repeat(2000), ")".repeat(2000));
            assert_eq!(parens.len(), 4006);
            assert_eq!(
                cond_err(&parens),
                "Invalid ConditionExpression: The expression has redundant parentheses;"
            );
            let nots = format!("{}k = :v", "NOT ".repeat(10_000));
            assert_eq!(
                cond_err(&nots),
                "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 40006"
            );
            // The same attack inside the 4 KB limit.
            let nots = format!("{}k = :v", "NOT ".repeat(1000));
            assert_eq!(
                cond_err(&nots),
                format!(
                    "Invalid ConditionExpression: The expression is nested too deeply; maximum nesting depth: {MAX_NESTING_DEPTH}"
                )
            );
        });
    }

    #[test]
    fn size_limit_is_4_kb_in_bytes() {
        let pad = |n: usize| format!("k = :v{}", " ".repeat(n - 6));
        assert!(condition("ConditionExpression", &pad(4096), &mut ph()).is_ok());
        assert!(cond_err(&pad(4097)).ends_with("expression size: 4097"));
        let long_path = format!("SET {} = :v", "é".repeat(2046));
        let err = update(&long_path, &mut ph()).expect_err("too long");
        assert!(
            err.to_string()
                .starts_with("Invalid UpdateExpression: Expression size has exceeded"),
            "{err}"
        );
        let proj = vec!["a"; 2049].join(",");
        assert!(projection(&proj, &mut ph()).is_err());
    }

    #[test]
    fn deepest_allowed_nesting_parses_evaluates_clones_and_drops_on_a_small_stack() {
        on_small_stack(|| {
            // NOTs and groups alternate so no parentheses are redundant.
            let half = MAX_NESTING_DEPTH / 2;
            let src = format!("{}k = :v{}", "NOT (".repeat(half), ")".repeat(half));
            let c = condition("ConditionExpression", &src, &mut ph()).expect("at the limit");
            let item: Item = [("k".to_string(), AttrValue::S("a".into()))].into();
            assert_eq!(eval(&c, &item).expect("eval"), half.is_multiple_of(2));
            assert_eq!(c.clone(), c);
            drop(c);
            let over = format!("{}k = :v{}", "NOT (".repeat(half + 1), ")".repeat(half + 1));
            assert!(cond_err(&over).contains("nested too deeply"));
        });
    }

    #[test]
    fn long_and_or_chains_build_shallow_trees() {
        fn depth(c: &Cond) -> usize {
            match c {
                Cond::And(a, b) | Cond::Or(a, b) => 1 + depth(a).max(depth(b)),
                Cond::Not(a) => 1 + depth(a),
                _ => 1,
            }
        }
        on_small_stack(|| {
            let src = vec!["k = :v"; 350].join(" OR ");
            let c = condition("FilterExpression", &src, &mut ph()).expect("parses");
            assert!(depth(&c) <= 10, "depth {}", depth(&c));
            let item: Item = [("k".to_string(), AttrValue::S("b".into()))].into();
            assert!(!eval(&c, &item).expect("eval"));
            let src = vec!["attribute_exists(k)"; 150].join(" AND ");
            let c = condition("FilterExpression", &src, &mut ph()).expect("parses");
            assert!(depth(&c) <= 9);
            assert!(eval(&c, &item).expect("eval"));
        });
        // Two or three operands give the same tree as before (a left-deep chain).
        let c = condition(
            "ConditionExpression",
            "a = :v AND b = :v AND c = :v",
            &mut ph(),
        )
        .expect("parses");
        let Cond::And(l, _) = c else { panic!("an AND") };
        assert!(matches!(*l, Cond::And(..)));
    }

    #[test]
    fn redundant_parentheses_as_aws_words_them() {
        for src in [
            "((k = :v))",
            "(((k = :v)))",
            "NOT ((k = :v))",
            "((attribute_exists(k)))",
        ] {
            assert_eq!(
                cond_err(src),
                "Invalid ConditionExpression: The expression has redundant parentheses;",
                "{src}"
            );
        }
        for src in [
            "(k = :v)",
            "((k = :v) AND (k = :v))",
            "(k = :v) OR ((k = :v) AND (k = :v))",
            "NOT (k = :v)",
        ] {
            assert!(
                condition("ConditionExpression", src, &mut ph()).is_ok(),
                "{src}"
            );
        }
        // A syntax error still wins over redundancy, as in AWS.
        assert!(cond_err("((k = :v)) AND").contains("Syntax error"));
        // Unbalanced parentheses: a syntax error, and no stack overflow.
        on_small_stack(|| assert!(cond_err(&"(".repeat(4000)).contains("nested too deeply")));
    }

    #[test]
    fn nested_update_functions_are_bounded() {
        on_small_stack(|| {
            let n = MAX_FUNCTION_NESTING;
            let src = format!(
                "SET a = {}:l{}",
                "list_append(:l, ".repeat(n),
                ")".repeat(n)
            );
            let u = update(&src, &mut ph()).expect("at the limit");
            let out = crate::expr::update::apply(&u, &Item::new(), false).expect("applies");
            assert_eq!(out.get("a"), Some(&AttrValue::L(Vec::new())));
            let src = format!(
                "SET a = {}:l{}",
                "list_append(:l,".repeat(255),
                ")".repeat(255)
            );
            assert!(src.len() <= MAX_EXPRESSION_BYTES);
            assert_eq!(
                update(&src, &mut ph()).expect_err("too deep").to_string(),
                format!(
                    "Invalid UpdateExpression: The expression is nested too deeply; maximum nesting depth: {MAX_FUNCTION_NESTING}"
                )
            );
        });
    }

    #[test]
    fn long_paths_are_loops_not_recursion() {
        on_small_stack(|| {
            let path = vec!["a"; 2000].join(".");
            let c = condition(
                "ConditionExpression",
                &format!("attribute_exists({path})"),
                &mut ph(),
            )
            .expect("parses");
            assert!(!eval(&c, &Item::new()).expect("eval"));
            let u = update(&format!("REMOVE {path}"), &mut ph()).expect("parses");
            assert!(crate::expr::update::apply(&u, &Item::new(), false).is_ok());
            let p = projection(&path, &mut ph()).expect("parses");
            assert!(crate::expr::path::project(&Item::new(), &p).is_empty());
        });
    }
}
