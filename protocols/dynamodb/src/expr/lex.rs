//! The tokeniser of DynamoDB's expression languages, and the syntax-error messages DynamoDB words around a token.

use crate::error::DynamoError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Name(String),
    Value(String),
    Int(usize),
    Punct(&'static str),
}

impl Tok {
    pub(super) fn text(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Name(s) | Tok::Value(s) => s.clone(),
            Tok::Int(i) => i.to_string(),
            Tok::Punct(p) => (*p).to_string(),
        }
    }
}

pub(super) fn lex(kind: &str, s: &str) -> Result<Vec<Tok>, DynamoError> {
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

pub(super) fn near(s: &str, i: usize) -> String {
    let start = s[..i].char_indices().rev().nth(3).map_or(0, |(j, _)| j);
    s[start..].chars().take(12).collect()
}

pub(super) fn syntax(kind: &str, tok: &str, s: &str) -> DynamoError {
    let i = s.find(tok).unwrap_or(0);
    DynamoError::validation(format!(
        "Invalid {kind}: Syntax error; token: \"{tok}\", near: \"{}\"",
        near(s, i)
    ))
}
