//! The marker a bridge commit carries in the committed offset's metadata: the lease checkpoint stored when the
//! offset was committed (`strait-kcl checkpoint=… sub=…`, with ` adopted` when the offset came from another
//! committer). It is how the bridge tells a lease renewal ("no change") from a real checkpoint.

use crate::lease::Lease;

/// Prefix of the metadata of offsets this bridge commits.
const TAG: &str = "strait-kcl";

/// What a bridge commit's metadata records: the lease checkpoint stored when the offset was committed, and
/// whether the offset was adopted from another committer rather than derived from that checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub checkpoint: String,
    pub sub: u64,
    pub adopted: bool,
}

impl Tag {
    pub fn from_lease(lease: &Lease, adopted: bool) -> Tag {
        Tag {
            checkpoint: lease.checkpoint.clone(),
            sub: lease.sub,
            adopted,
        }
    }

    pub fn render(&self) -> String {
        let adopted = if self.adopted { " adopted" } else { "" };
        format!(
            "{TAG} checkpoint={} sub={}{adopted}",
            self.checkpoint, self.sub
        )
    }
}

/// The tag in a committed offset's metadata, or `None` when something other than the bridge committed it.
pub fn tag_of(metadata: &str) -> Option<Tag> {
    let rest = metadata.strip_prefix(TAG)?.strip_prefix(" checkpoint=")?;
    let (checkpoint, rest) = rest.split_once(" sub=")?;
    let (sub, adopted) = match rest.strip_suffix(" adopted") {
        Some(sub) => (sub, true),
        None => (rest, false),
    };
    Some(Tag {
        checkpoint: checkpoint.to_string(),
        sub: sub.parse().ok()?,
        adopted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_foreign_metadata_is_not_a_tag() {
        for adopted in [false, true] {
            let t = Tag {
                checkpoint: "49000000000000000000000000000000000000000000000000000000".into(),
                sub: 3,
                adopted,
            };
            assert_eq!(tag_of(&t.render()), Some(t));
        }
        assert_eq!(tag_of(""), None);
        assert_eq!(tag_of("strait-kcl checkpoint=x sub=notanumber"), None);
    }
}
