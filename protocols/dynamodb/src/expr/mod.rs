//! DynamoDB expressions: condition, filter and key-condition expressions (one grammar), update expressions and
//! projection expressions. The legacy parameters (`Expected`, `AttributeUpdates`, `KeyConditions`, `ScanFilter`,
//! `QueryFilter`) are translated into the same trees (see [`crate::legacy`]), so one evaluator serves both syntaxes.

pub mod eval;
mod lex;
pub mod parse;
pub mod path;
pub mod update;

use crate::value::AttrValue;

/// One step of a document path: `a`, `.b`, `[0]`.
#[derive(Debug, Clone, PartialEq)]
pub enum PathElem {
    Name(String),
    Index(usize),
}

/// A document path such as `a.b[0]`; the first element is always a name.
pub type Path = Vec<PathElem>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value in a condition: an attribute of the item, a literal from `ExpressionAttributeValues`, or `size(path)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttrValue),
    Size(Path),
}

/// A condition (also a filter or a key condition).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Cmp(Operand, CmpOp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Exists(Path),
    NotExists(Path),
    AttrType(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

/// Which connective [`join`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    And,
    Or,
}

/// Joins conditions left to right with AND (or OR), as a balanced tree: it evaluates to the same result in the
/// same order as the left-deep chain, but its depth, and so the recursion of evaluating, cloning or dropping it,
/// grows with the logarithm of the number of conditions. Two or three conditions give the same tree as the chain.
/// `None` when there are none.
pub fn join(conds: Vec<Cond>, how: Join) -> Option<Cond> {
    let mut level = conds;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut it = level.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => match how {
                    Join::And => Cond::And(Box::new(a), Box::new(b)),
                    Join::Or => Cond::Or(Box::new(a), Box::new(b)),
                },
                None => a,
            });
        }
        level = next;
    }
    level.pop()
}

/// The right-hand side of a `SET` action.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Operand(UpdOperand),
    Plus(UpdOperand, UpdOperand),
    Minus(UpdOperand, UpdOperand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdOperand {
    Path(Path),
    Value(AttrValue),
    IfNotExists(Path, Box<UpdOperand>),
    ListAppend(Box<UpdOperand>, Box<UpdOperand>),
}

/// A parsed update: the four clauses, each action in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub set: Vec<(Path, SetValue)>,
    pub remove: Vec<Path>,
    /// `ADD`: numbers are added, sets unioned (legacy `AttributeUpdates` ADD also appends lists).
    pub add: Vec<(Path, AttrValue)>,
    /// `DELETE` of set elements.
    pub delete: Vec<(Path, AttrValue)>,
}

impl Update {
    /// Every path the update writes, for the key-attribute check and `UPDATED_*` return values.
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        self.set
            .iter()
            .map(|(p, _)| p)
            .chain(self.remove.iter())
            .chain(self.add.iter().map(|(p, _)| p))
            .chain(self.delete.iter().map(|(p, _)| p))
    }
}

/// Renders a path for messages (`a.b[0]`).
pub fn path_string(p: &Path) -> String {
    let mut s = String::new();
    for (i, e) in p.iter().enumerate() {
        match e {
            PathElem::Name(n) if i == 0 => s.push_str(n),
            PathElem::Name(n) => {
                s.push('.');
                s.push_str(n);
            }
            PathElem::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}
