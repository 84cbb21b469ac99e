//! DeleteResourcePolicy: removes the stored policy; ResourceNotFoundException when there is none.

use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (h, _, target) = k.resource(arn)?;
    let none = || {
        KinesisError::ResourceNotFound(format!("No resource policy found for resource ARN {arn}."))
    };
    k.inner
        .store
        .update(&h, |rec| {
            let slot = match &target {
                Target::Stream => &mut rec.policy,
                Target::Consumer(name) => {
                    match rec.consumers.iter_mut().find(|c| &c.name == name) {
                        Some(c) => &mut c.policy,
                        None => return Err(none()),
                    }
                }
            };
            slot.take().map(|_| ()).ok_or_else(none)
        })
        .await?;
    Ok(Value::map())
}
