//! The Hello exchange that opens every connection: the dialler sends its Hello, the acceptor checks it and
//! answers with its own (or with an Error frame saying why it refuses, then closes), the dialler checks that.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::NodeId;
use crate::error::RemoteError;
use crate::wire::{
    self, HEADER_LEN, Header, Hello, Kind, LEN_PREFIX, MAX_HELLO_LEN, WireError, codes,
};

/// Why a Hello exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("i/o during the hello exchange: {0}")]
    Io(#[from] io::Error),
    #[error("malformed hello: {0}")]
    Wire(#[from] WireError),
    #[error("expected a Hello frame, got {0:?}")]
    UnexpectedKind(Kind),
    #[error("cluster id mismatch: this node is in {ours:?}, the peer in {theirs:?}")]
    ClusterMismatch { ours: String, theirs: String },
    #[error("dialled node {expected} but node {got} answered")]
    WrongNode { expected: NodeId, got: NodeId },
    #[error("peer refused: {0}")]
    Refused(RemoteError),
}

impl HandshakeError {
    /// Whether the peer is reachable but will not talk to us (as opposed to a network failure).
    pub(crate) fn is_refusal(&self) -> bool {
        match self {
            HandshakeError::ClusterMismatch { .. }
            | HandshakeError::WrongNode { .. }
            | HandshakeError::Refused(_) => true,
            HandshakeError::Io(_) | HandshakeError::Wire(_) | HandshakeError::UnexpectedKind(_) => {
                false
            }
        }
    }
}

async fn write_frame<S: AsyncWrite + Unpin>(
    s: &mut S,
    kind: Kind,
    payload: &[u8],
) -> io::Result<()> {
    let mut buf = BytesMut::new();
    wire::encode(&Header::control(kind, 0), payload, &mut buf);
    s.write_all(&buf).await?;
    s.flush().await
}

/// Reads exactly one frame (never more, so the connection's reader starts on a frame boundary).
async fn read_frame<S: AsyncRead + Unpin>(s: &mut S) -> Result<wire::Frame, HandshakeError> {
    let mut len = [0u8; LEN_PREFIX];
    s.read_exact(&mut len).await?;
    let n = u32::from_be_bytes(len) as usize;
    let max = HEADER_LEN + MAX_HELLO_LEN;
    if n > max {
        return Err(WireError::TooLarge { len: n as u32, max }.into());
    }
    let mut buf = BytesMut::zeroed(LEN_PREFIX + n);
    buf[..LEN_PREFIX].copy_from_slice(&len);
    s.read_exact(&mut buf[LEN_PREFIX..]).await?;
    // The whole frame is in `buf`, so `decode` returns it (or a format error), never "need more".
    match wire::decode(&mut buf, max)? {
        Some(f) => Ok(f),
        None => Err(WireError::Truncated("hello").into()),
    }
}

fn parse_hello(frame: wire::Frame) -> Result<Hello, HandshakeError> {
    match frame.header.kind {
        Kind::Hello => Ok(Hello::decode(&frame.payload)?),
        Kind::Error => Err(HandshakeError::Refused(RemoteError::decode(
            &frame.payload,
        )?)),
        other => Err(HandshakeError::UnexpectedKind(other)),
    }
}

/// The dialler's side: returns the peer's Hello.
pub(crate) async fn dial<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    ours: &Hello,
    expected: NodeId,
) -> Result<Hello, HandshakeError> {
    write_frame(s, Kind::Hello, &ours.encode()).await?;
    let theirs = parse_hello(read_frame(s).await?)?;
    if theirs.cluster_id != ours.cluster_id {
        return Err(HandshakeError::ClusterMismatch {
            ours: ours.cluster_id.clone(),
            theirs: theirs.cluster_id,
        });
    }
    if theirs.node != expected {
        return Err(HandshakeError::WrongNode {
            expected,
            got: theirs.node,
        });
    }
    Ok(theirs)
}

/// The acceptor's side: returns the dialler's Hello, or refuses (telling the dialler why when it spoke our
/// protocol at all).
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    ours: &Hello,
) -> Result<Hello, HandshakeError> {
    let theirs = parse_hello(read_frame(s).await?)?;
    if theirs.cluster_id != ours.cluster_id {
        let err = HandshakeError::ClusterMismatch {
            ours: ours.cluster_id.clone(),
            theirs: theirs.cluster_id,
        };
        let refusal = RemoteError {
            code: codes::REFUSED,
            message: err.to_string(),
        };
        // Best effort: the connection closes either way.
        let _ = write_frame(s, Kind::Error, &refusal.encode()).await;
        return Err(err);
    }
    write_frame(s, Kind::Hello, &ours.encode()).await?;
    Ok(theirs)
}
