//! GetResourcePolicy: the stored policy, or an empty document (`{}`) when none is set.

use super::resource::Target;
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::value::Value;

pub(crate) async fn handle(k: &Kinesis, req: &Value) -> Result<Value, KinesisError> {
    let arn = req.str("ResourceARN").unwrap_or_default();
    let (_, r, target) = k.resource(arn)?;
    let policy = match &target {
        Target::Stream => r.policy.clone(),
        Target::Consumer(name) => r
            .consumers
            .iter()
            .find(|c| &c.name == name)
            .and_then(|c| c.policy.clone()),
    };
    Ok(Value::map().with("Policy", policy.unwrap_or_else(|| "{}".into())))
}
