//! Tables and items and their layout in the engine's metadata store (table `dynamodb`): `t/<table>` holds a
//! table's description, `i/<table>\0<key>` one item (DynamoDB JSON). Table names cannot contain NUL, so an item
//! prefix never matches another table's items. Handlers build [`MetaOp`]s with the functions here; the in-memory
//! [`State`] is built from the committed rows by `crate::cache`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use strait_engine::MetaOp;

use crate::error::DynamoError;
use crate::number::Number;
use crate::value::{AttrValue, Item, item_to_json};

pub const META_TABLE: &str = "dynamodb";

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gsi {
    pub name: String,
    pub hash: String,
    pub range: Option<String>,
    /// The `Projection` as given (`ProjectionType`, `NonKeyAttributes`).
    pub projection: serde_json::Value,
    /// Until this time the index reports CREATING (and `Backfilling`); the backfill itself is immediate since
    /// index queries read the table.
    pub ready_ms: i64,
    pub read_capacity: i64,
    pub write_capacity: i64,
}

impl Gsi {
    pub fn projection_type(&self) -> &str {
        self.projection
            .get("ProjectionType")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("ALL")
    }
}

/// A table's durable description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    pub id: String,
    pub created_ms: i64,
    /// CREATING or UPDATING until `busy_until_ms`, then ACTIVE.
    pub busy_status: String,
    pub busy_until_ms: i64,
    pub hash: String,
    pub range: Option<String>,
    /// Attribute name to type (S, N, B).
    pub attribute_definitions: Vec<(String, String)>,
    pub billing_mode: String,
    pub read_capacity: i64,
    pub write_capacity: i64,
    pub gsis: Vec<Gsi>,
    pub pitr: bool,
    pub tags: Vec<(String, String)>,
    pub deletion_protection: bool,
}

impl TableMeta {
    pub fn status(&self, now_ms: i64) -> &str {
        if now_ms < self.busy_until_ms {
            &self.busy_status
        } else {
            "ACTIVE"
        }
    }

    pub fn attr_type(&self, name: &str) -> Option<&str> {
        self.attribute_definitions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }

    pub fn gsi(&self, name: &str) -> Option<&Gsi> {
        self.gsis.iter().find(|g| g.name == name)
    }

    pub fn is_key(&self, attr: &str) -> bool {
        self.hash == attr || self.range.as_deref() == Some(attr)
    }
}

/// A scalar key value, ordered as DynamoDB orders sort keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    S(String),
    N(Number),
    B(Vec<u8>),
}

impl Ord for KeyPart {
    fn cmp(&self, o: &KeyPart) -> Ordering {
        match (self, o) {
            (KeyPart::S(a), KeyPart::S(b)) => a.as_bytes().cmp(b.as_bytes()),
            (KeyPart::N(a), KeyPart::N(b)) => a.cmp(b),
            (KeyPart::B(a), KeyPart::B(b)) => a.cmp(b),
            _ => self.rank().cmp(&o.rank()),
        }
    }
}

impl PartialOrd for KeyPart {
    fn partial_cmp(&self, o: &KeyPart) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl KeyPart {
    fn rank(&self) -> u8 {
        match self {
            KeyPart::S(_) => 0,
            KeyPart::N(_) => 1,
            KeyPart::B(_) => 2,
        }
    }

    pub fn from_value(v: &AttrValue) -> Option<KeyPart> {
        match v {
            AttrValue::S(s) => Some(KeyPart::S(s.clone())),
            AttrValue::N(n) => Some(KeyPart::N(n.clone())),
            AttrValue::B(b) => Some(KeyPart::B(b.clone())),
            _ => None,
        }
    }
}

/// A primary key: partition key and optional sort key.
pub type PKey = (KeyPart, Option<KeyPart>);

/// One table and its items.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub meta: TableMeta,
    pub items: BTreeMap<PKey, Item>,
}

impl Table {
    /// The primary key of a stored item (which always has its key attributes).
    pub fn pkey(&self, item: &Item) -> Option<PKey> {
        let h = KeyPart::from_value(item.get(&self.meta.hash)?)?;
        let r = match &self.meta.range {
            Some(r) => Some(KeyPart::from_value(item.get(r)?)?),
            None => None,
        };
        Some((h, r))
    }

    /// Just the key attributes of `item`.
    pub fn key_of(&self, item: &Item) -> Item {
        item.iter()
            .filter(|(k, _)| self.meta.is_key(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Everything in memory.
#[derive(Debug, Default)]
pub struct State {
    pub tables: HashMap<String, Table>,
}

pub fn table_key(name: &str) -> Vec<u8> {
    format!("t/{name}").into_bytes()
}

pub fn items_prefix(name: &str) -> Vec<u8> {
    format!("i/{name}\0").into_bytes()
}

/// The store key of an item: its key attributes as canonical JSON (sorted names).
pub fn item_key(table: &str, key: &Item) -> Vec<u8> {
    let mut k = items_prefix(table);
    k.extend(item_to_json(key).to_string().into_bytes());
    k
}

pub fn put_table_op(meta: &TableMeta) -> Result<MetaOp, DynamoError> {
    Ok(MetaOp::Put {
        table: META_TABLE.into(),
        key: table_key(&meta.name),
        value: serde_json::to_vec(meta).map_err(|e| DynamoError::Internal(e.to_string()))?,
    })
}

pub fn put_item_op(table: &Table, item: &Item) -> MetaOp {
    MetaOp::Put {
        table: META_TABLE.into(),
        key: item_key(&table.meta.name, &table.key_of(item)),
        value: item_to_json(item).to_string().into_bytes(),
    }
}

pub fn delete_item_op(table: &Table, item: &Item) -> MetaOp {
    MetaOp::Delete {
        table: META_TABLE.into(),
        key: item_key(&table.meta.name, &table.key_of(item)),
    }
}

/// The table name and key JSON of an item's store key (`i/<table>\0<key>`); `None` for any other key.
pub fn split_item_key(key: &[u8]) -> Option<(String, &[u8])> {
    let rest = key.strip_prefix(b"i/")?;
    let nul = rest.iter().position(|b| *b == 0)?;
    let table = String::from_utf8(rest[..nul].to_vec()).ok()?;
    Some((table, &rest[nul + 1..]))
}

/// The table name of a table record's store key (`t/<table>`); `None` for any other key.
pub fn split_table_key(key: &[u8]) -> Option<String> {
    String::from_utf8(key.strip_prefix(b"t/")?.to_vec()).ok()
}
