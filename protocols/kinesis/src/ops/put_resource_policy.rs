//! PutResourcePolicy: stores a stream's or consumer's policy document (enforcement comes with the security
//! issue).

use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (h, _, target) = k.resource(arn)?;
    let policy = req.string("Policy").unwrap_or_default();
    if !serde_json::from_str::<serde_json::Value>(&policy).is_ok_and(|v| v.is_object()) {
        return Err(KinesisError::InvalidArgument(
            "Policy is not a valid JSON policy document.".into(),
        ));
    }
    k.inner
        .store
        .update(&h, |rec| {
            match &target {
                Target::Stream => rec.policy = Some(policy),
                Target::Consumer(name) => {
                    if let Some(c) = rec.consumers.iter_mut().find(|c| &c.name == name) {
                        c.policy = Some(policy);
                    }
                }
            }
            Ok(())
        })
        .await?;
    Ok(Value::map())
}
