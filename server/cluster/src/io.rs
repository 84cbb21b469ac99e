//! The connector/acceptor seam: how a byte stream to a peer is obtained. TCP today; mTLS wraps the TCP stream
//! here later (a TLS connector/acceptor), without the connection code changing.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};

/// A bidirectional byte stream the connection code runs over.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T> Stream for T where T: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

/// A boxed [`Stream`], so the transport is not generic over the stream type.
pub type BoxStream = Box<dyn Stream>;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Opens outbound streams.
pub trait Connector: Send + Sync + 'static {
    /// Connects to a peer's inter-node listener.
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>>;
}

/// Turns an accepted TCP connection into a stream (a TLS acceptor performs its handshake here).
pub trait Acceptor: Send + Sync + 'static {
    /// Wraps an accepted connection from `peer`.
    fn accept(&self, tcp: TcpStream, peer: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>>;
}

/// Plain TCP, optionally from a fixed source address, with Nagle off (the writer coalesces itself).
#[derive(Clone, Debug, Default)]
pub struct TcpConnector {
    source: Option<IpAddr>,
}

impl TcpConnector {
    /// A connector binding outbound sockets to `source` (any port) when given.
    pub fn new(source: Option<IpAddr>) -> TcpConnector {
        TcpConnector { source }
    }

    /// Connects and returns the TCP stream itself (for connectors that wrap it).
    pub async fn connect_tcp(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(ip) = self.source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let tcp = socket.connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }
}

impl Connector for TcpConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(async move { Ok(Box::new(self.connect_tcp(addr).await?) as BoxStream) })
    }
}

/// Plain TCP: the accepted stream as is, with Nagle off.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpAcceptor;

impl Acceptor for TcpAcceptor {
    fn accept(&self, tcp: TcpStream, _peer: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(async move {
            tcp.set_nodelay(true)?;
            Ok(Box::new(tcp) as BoxStream)
        })
    }
}
