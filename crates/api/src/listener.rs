//! The accept loop. When the process runs out of file descriptors, `accept` fails and the
//! waiting connections would sit in the kernel's backlog, each client hanging until it gives
//! up. One descriptor is kept in reserve: on EMFILE/ENFILE it is released, the waiting
//! connection accepted and closed at once (the client sees the connection end and can retry
//! elsewhere), and the reserve taken again. The server keeps serving the connections it has
//! and accepts new ones as soon as descriptors free up.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

pub struct Guarded {
    inner: TcpListener,
    reserve: Option<std::fs::File>,
}

fn reserve() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

impl Guarded {
    pub fn new(inner: TcpListener) -> Guarded {
        Guarded {
            inner,
            reserve: reserve(),
        }
    }
}

fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE (24): this process; ENFILE (23): the whole system.
    matches!(e.raw_os_error(), Some(23 | 24))
}

fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl axum::serve::Listener for Guarded {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Small answers go out at once rather than waiting for Nagle's timer.
                    let _ = stream.set_nodelay(true);
                    return (stream, addr);
                }
                Err(e) if per_connection(&e) => continue,
                Err(e) if out_of_descriptors(&e) => {
                    tracing::warn!(error = %e, "out of file descriptors: refusing a connection");
                    drop(self.reserve.take());
                    if let Ok(Ok((stream, _))) =
                        tokio::time::timeout(Duration::from_millis(10), self.inner.accept()).await
                    {
                        drop(stream);
                    }
                    self.reserve = reserve();
                    if self.reserve.is_none() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
