//! Resources addressed by ARN (TagResource, UntagResource, ListTagsForResource, resource policies): a stream or
//! one of its consumers.

use std::sync::Arc;

use crate::arn::{self, Resource};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::{StreamHandle, StreamRecord};

pub(crate) enum Target {
    Stream,
    /// Index into the stream record's `consumers`.
    Consumer(String),
}

impl Kinesis {
    /// The stream (and consumer, for a consumer ARN) that `resource_arn` names.
    pub(crate) fn resource(
        &self,
        resource_arn: &str,
    ) -> Result<(Arc<StreamHandle>, Arc<StreamRecord>, Target), KinesisError> {
        let not_found = |account: &str| {
            KinesisError::ResourceNotFound(format!(
                "Resource {resource_arn} under account {account} not found."
            ))
        };
        match arn::parse(&self.inner.cfg, resource_arn) {
            Ok(Some(Resource::Stream(name))) => {
                let (h, r) = self.lookup(&name)?;
                Ok((h, r, Target::Stream))
            }
            Ok(Some(Resource::Consumer {
                stream,
                consumer,
                created_secs,
            })) => {
                let (h, r) = self.lookup(&stream)?;
                let (now, delay) = (self.now_ms(), self.delay_ms());
                let exists = r
                    .live_consumers(now, delay)
                    .any(|c| c.name == consumer && c.created_ms.div_euclid(1000) == created_secs);
                if !exists {
                    return Err(not_found(self.account()));
                }
                Ok((h, r, Target::Consumer(consumer)))
            }
            Ok(None) => Err(KinesisError::InvalidArgument(format!(
                "ResourceARN {resource_arn} is not a stream or consumer ARN."
            ))),
            Err(account) => Err(not_found(&account)),
        }
    }
}
