//! The format-neutral document a request body decodes into and a response is built from.
//!
//! AWS JSON 1.1 and CBOR carry the same shapes but differ on two types: blobs (base64 strings in JSON, byte strings
//! in CBOR) and timestamps (epoch seconds as a JSON number, CBOR tag 1 + epoch milliseconds as the Java SDKs send
//! them). Keeping both as their own variants lets each codec render them its way; on input a JSON string is
//! accepted where a blob is expected and a number where a timestamp is expected (see [`crate::model`]).

/// A decoded request or an unencoded response document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Blob(Vec<u8>),
    /// Epoch milliseconds.
    Timestamp(i64),
    List(Vec<Value>),
    /// Members in order (AWS output order is the model's member order).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// An empty structure, to build responses with [`Value::with`].
    pub fn map() -> Value {
        Value::Map(Vec::new())
    }

    /// Adds a member (builder style). Members whose value is `None`-like are for the caller to skip.
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Value {
        if let Value::Map(m) = &mut self {
            m.push((key.to_string(), v.into()));
        }
        self
    }

    /// Adds a member only when `v` is `Some`.
    pub fn with_opt(self, key: &str, v: Option<impl Into<Value>>) -> Value {
        match v {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// A member of a structure.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A member of a structure, with JSON/CBOR nulls treated as absent (AWS does the same).
    pub fn member(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|v| !matches!(v, Value::Null))
    }

    /// [`member`](Self::member), mutable (the write path moves record data out of the request).
    pub fn member_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Map(m) => m
                .iter_mut()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| !matches!(v, Value::Null)),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.member(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.str(key).map(str::to_owned)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.member(key) {
            Some(Value::Int(i)) => Some(*i),
            Some(Value::Float(f)) => Some(*f as i64),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.member(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A timestamp member in epoch milliseconds (validation has already turned numbers into timestamps).
    pub fn timestamp(&self, key: &str) -> Option<i64> {
        match self.member(key) {
            Some(Value::Timestamp(t)) => Some(*t),
            _ => None,
        }
    }

    pub fn list(&self, key: &str) -> &[Value] {
        match self.member(key) {
            Some(Value::List(l)) => l,
            _ => &[],
        }
    }

    /// [`list`](Self::list), mutable.
    pub fn list_mut(&mut self, key: &str) -> &mut [Value] {
        match self.member_mut(key) {
            Some(Value::List(l)) => l,
            _ => &mut [],
        }
    }

    /// The entries of a map member (tags).
    pub fn entries(&self, key: &str) -> &[(String, Value)] {
        match self.member(key) {
            Some(Value::Map(m)) => m,
            _ => &[],
        }
    }

    /// The strings of a list member.
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.list(key)
            .iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(s.clone())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Value {
        Value::Int(i64::from(i))
    }
}
impl From<usize> for Value {
    fn from(i: usize) -> Value {
        Value::Int(i as i64)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Value {
        Value::List(l)
    }
}
