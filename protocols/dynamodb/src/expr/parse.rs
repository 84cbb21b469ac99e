//! Tokeniser and recursive-descent parsers for DynamoDB's expression languages, resolving `#name` and `:value`
//! placeholders as they are read and recording which were used (DynamoDB refuses unused ones).

use std::collections::{BTreeMap, BTreeSet};

use super::{CmpOp, Cond, Operand, Path, PathElem, SetValue, UpdOperand, Update};
use crate::error::DynamoError;
use crate::value::{AttrValue, Item};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Name(String),
    Value(String),
    Int(usize),
    Punct(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Name(s) | Tok::Value(s) => s.clone(),
            Tok::Int(i) => i.to_string(),
            Tok::Punct(p) => (*p).to_string(),
        }
    }
}

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

fn lex(kind: &str, s: &str) -> Result<Vec<Tok>, DynamoError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = s.get(i..i + 2);
        let punct2 = match two {
            Some("<>") => Some("<>"),
            Some("<=") => Some("<="),
            Some(">=") => Some(">="),
            _ => None,
        };
        if let Some(p) = punct2 {
            out.push(Tok::Punct(p));
            i += 2;
            continue;
        }
        let p1 = match c {
            b'(' => Some("("),
            b')' => Some(")"),
            b'[' => Some("["),
            b']' => Some("]"),
            b',' => Some(","),
            b'.' => Some("."),
            b'=' => Some("="),
            b'<' => Some("<"),
            b'>' => Some(">"),
            b'+' => Some("+"),
            b'-' => Some("-"),
            _ => None,
        };
        if let Some(p) = p1 {
            out.push(Tok::Punct(p));
            i += 1;
            continue;
        }
        if c == b'#' || c == b':' {
            let start = i;
            i += 1;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            if i == start + 1 {
                return Err(syntax(kind, &s[start..start + 1], s));
            }
            let t = s[start..i].to_string();
            out.push(if c == b'#' {
                Tok::Name(t)
            } else {
                Tok::Value(t)
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = s[start..i]
                .parse()
                .map_err(|_| syntax(kind, &s[start..i], s))?;
            out.push(Tok::Int(n));
            continue;
        }
        if word(c) {
            let start = i;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
            continue;
        }
        let ch = s[i..].chars().next().map(String::from).unwrap_or_default();
        return Err(DynamoError::validation(format!(
            "Invalid {kind}: Syntax error; token: \"{ch}\", near: \"{}\"",
            near(s, i)
        )));
    }
    Ok(out)
}

fn near(s: &str, i: usize) -> String {
    let start = s[..i].char_indices().rev().nth(3).map_or(0, |(j, _)| j);
    s[start..].chars().take(12).collect()
}

fn syntax(kind: &str, tok: &str, s: &str) -> DynamoError {
    let i = s.find(tok).unwrap_or(0);
    DynamoError::validation(format!(
        "Invalid {kind}: Syntax error; token: \"{tok}\", near: \"{}\"",
        near(s, i)
    ))
}

struct Parser<'a> {
    kind: &'static str,
    src: &'a str,
    toks: Vec<Tok>,
    pos: usize,
    ph: &'a mut Placeholders,
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
        Ok(Parser {
            kind,
            src,
            toks: lex(kind, src)?,
            pos: 0,
            ph,
        })
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

    fn cond(&mut self) -> Result<Cond, DynamoError> {
        let mut l = self.and()?;
        while is_kw(self.peek(), "OR") {
            self.pos += 1;
            let r = self.and()?;
            l = Cond::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Cond, DynamoError> {
        let mut l = self.not()?;
        while is_kw(self.peek(), "AND") {
            self.pos += 1;
            let r = self.not()?;
            l = Cond::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Cond, DynamoError> {
        if is_kw(self.peek(), "NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, DynamoError> {
        if self.eat("(") {
            let c = self.cond()?;
            self.expect(")")?;
            return Ok(c);
        }
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
                let r = match f.as_str() {
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
            Some(Tok::Ident(_)) | Some(Tok::Name(_)) => Ok(UpdOperand::Path(self.path()?)),
            _ => Err(self.err_at()),
        }
    }
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
    let c = p.cond()?;
    p.done()?;
    Ok(c)
}

pub fn update(src: &str, ph: &mut Placeholders) -> Result<Update, DynamoError> {
    let mut p = Parser::new("UpdateExpression", src, ph)?;
    let u = p.update()?;
    p.done()?;
    Ok(u)
}

pub fn projection(src: &str, ph: &mut Placeholders) -> Result<Vec<Path>, DynamoError> {
    let mut p = Parser::new("ProjectionExpression", src, ph)?;
    let mut out = vec![p.path()?];
    while p.eat(",") {
        out.push(p.path()?);
    }
    p.done()?;
    Ok(out)
}
