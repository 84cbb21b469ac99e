//! The tiering crate's errors, and how the engine sees them.

use strait_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum TierError {
    /// An S3 call failed (after the SDK's own retries) or timed out; `message` is the SDK's error with its
    /// context (status, code), as text.
    #[error("S3 {op} of {key}: {message}")]
    S3 {
        op: &'static str,
        key: String,
        message: String,
    },
    /// An object's bytes are not what the upload wrote (a short body, a bad index).
    #[error("object {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// Reading a local segment file to upload it failed.
    #[error("reading {path} for upload: {source}")]
    LocalRead {
        path: String,
        source: std::io::Error,
    },
    /// The segment's batches could not be walked (it changed under the uploader, or is damaged).
    #[error("segment {path}: {reason}")]
    BadSegment { path: String, reason: String },
    /// The engine refused a call (the hand-over of an uploaded segment, a partition lookup).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The settings cannot work (a part size below S3's 5 MiB minimum, an empty bucket name).
    #[error("invalid tiering settings: {0}")]
    Settings(String),
}

impl From<TierError> for EngineError {
    fn from(e: TierError) -> Self {
        let reason = e.to_string();
        match e {
            TierError::S3 { key, .. } | TierError::Corrupt { key, .. } => {
                EngineError::RemoteStore { key, reason }
            }
            TierError::LocalRead { path, .. } | TierError::BadSegment { path, .. } => {
                EngineError::RemoteStore { key: path, reason }
            }
            TierError::Engine(inner) => inner,
            TierError::Settings(_) => EngineError::RemoteStore {
                key: String::new(),
                reason,
            },
        }
    }
}

pub type Result<T, E = TierError> = std::result::Result<T, E>;
