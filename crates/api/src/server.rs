//! The HTTP server: accepts connections ([`Guarded`]) and serves each with hyper's HTTP/1
//! connection builder, which (unlike `axum::serve`) bounds how long a client may take to send
//! a request head. The body's deadline is [`crate::observe::buffer_body`]'s, the handler's the
//! request timeout. Each request carries the client's address ([`ClientAddr`]), resolved
//! through the trusted proxies.

use crate::listener::Guarded;
use axum::extract::Request;
use axum::http::HeaderMap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use std::net::IpAddr;
use std::time::Duration;
use tower::ServiceExt;

/// Where a request came from: the connection's peer, or, when the peer is a trusted proxy,
/// the address it forwarded ([`client_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// How long clients may take, per connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the moment the server waits for a request head (a new connection, or an idle
    /// keep-alive connection after its last answer) until the whole head has arrived. It is
    /// also the idle timeout: hyper starts this clock as soon as a connection is idle.
    pub header_read: Duration,
    /// From the end of the head until the whole body has arrived.
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(20),
            body_read: Duration::from_secs(30),
        }
    }
}

/// The client behind `peer`. Only a peer inside `trusted` may speak for someone else: then the
/// `X-Forwarded-For` chain is read from the right (each proxy appends the address it saw) and
/// the first address that is not itself a trusted proxy is the client. Anything unparsable
/// ends the walk at the last address that could be trusted.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let mut client = canonical(peer);
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = canonical(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An IPv4 client reaching an IPv6 socket shows as `::ffff:a.b.c.d`; count it as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// for at most `drain` before closing what is left.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    timeouts: Timeouts,
    trusted_proxies: Vec<IpNet>,
    drain: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener;
    let mut listener = Guarded::new(listener);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let trusted = std::sync::Arc::new(trusted_proxies);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        let trusted = trusted.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            let client = client_of(peer.ip(), req.headers(), &trusted);
            req.extensions_mut().insert(ClientAddr(client));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Timeouts and resets end here: the client is gone, there is nobody to tell.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(drain) => {
            tracing::warn!(seconds = drain.as_secs(), "drain deadline passed; closing remaining connections");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_address_only_from_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.1.1.1".parse().unwrap());
        assert_eq!(client_of(ip("10.2.2.2"), &h, &trusted), ip("203.0.113.9"));
        // An untrusted peer cannot choose its address.
        assert_eq!(
            client_of(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
        // A client-supplied left part beyond the first untrusted hop is ignored.
        h.insert("x-forwarded-for", "1.1.1.1, 203.0.113.9".parse().unwrap());
        assert_eq!(client_of(ip("10.2.2.2"), &h, &trusted), ip("203.0.113.9"));
        // Garbage stops the walk at the proxy itself.
        h.insert("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(client_of(ip("10.2.2.2"), &h, &trusted), ip("10.2.2.2"));
        // No proxies configured: the peer, always.
        assert_eq!(client_of(ip("10.2.2.2"), &h, &[]), ip("10.2.2.2"));
        assert_eq!(client_of(ip("::ffff:192.0.2.1"), &h, &[]), ip("192.0.2.1"));
    }
}
