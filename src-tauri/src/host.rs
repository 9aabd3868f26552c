//! Host mode: the signaling server embedded in the app, listening on every interface so a friend
//! on the same network can join, with one hard-to-guess room.

use serde::Serialize;
use signaling::Config;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The port a host listens on when it is free.
pub const DEFAULT_PORT: u16 = crate::address::DEFAULT_PORT;

/// What the host tells the user, and the UI uses to join its own call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    pub port: u16,
    pub room: String,
    /// `http://IP:PORT` for each non-loopback interface: what a guest types.
    pub addresses: Vec<String>,
    /// The address the app itself uses (loopback).
    pub local_url: String,
    /// A ready-to-paste invitation.
    pub invite: String,
    /// How many people the call may hold, the host included.
    pub max_people: usize,
}

/// How many people a hosted call may hold: the host picks within these, 4 unless they say.
pub const MIN_PEOPLE: usize = 2;
pub const MAX_PEOPLE: usize = 6;
pub const DEFAULT_PEOPLE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("could not start hosting: {0}")]
    Bind(std::io::Error),
}

/// A running embedded server.
pub struct Host {
    pub info: HostInfo,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), signaling::ServeError>>,
}

impl Host {
    /// Starts the server on all interfaces, on `preferred_port` or, when that is taken, a free one.
    pub async fn start(mut config: Config, preferred_port: u16) -> Result<Host, HostError> {
        let listener = match TcpListener::bind(("0.0.0.0", preferred_port)).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                TcpListener::bind(("0.0.0.0", 0))
                    .await
                    .map_err(HostError::Bind)?
            }
            Err(e) => return Err(HostError::Bind(e)),
        };
        let port = listener.local_addr().map_err(HostError::Bind)?.port();
        let room = room_code();
        config.only_rooms = Some(vec![room.clone()]);
        let max_people = config.limits.max_peers_per_room;
        let ips = lan_addresses();
        let addresses: Vec<String> = ips.iter().map(|ip| http_url(*ip, port)).collect();
        // Only this computer's own names are served: a web page elsewhere whose domain resolves
        // to this address (DNS rebinding) is refused.
        config.allowed_hosts = signaling::LOOPBACK_HOSTS
            .iter()
            .map(|h| h.to_string())
            .chain(ips.iter().map(IpAddr::to_string))
            .chain(mdns_name())
            .collect();
        let invite = invitation(&addresses, &room);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(signaling::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        tracing::info!(port, %room, "hosting");
        Ok(Host {
            info: HostInfo {
                port,
                room,
                addresses,
                local_url: format!("http://127.0.0.1:{port}"),
                invite,
                max_people,
            },
            stop,
            task,
        })
    }

    /// Ends every connection cleanly and frees the port.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => tracing::info!("stopped hosting"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the embedded server failed"),
            Err(e) => tracing::warn!(error = %e, "the embedded server task ended abnormally"),
        }
    }
}

/// A room code: 12 characters from an alphabet without look-alikes, in groups of four
/// (about 60 bits: not guessable by anyone on the network).
pub fn room_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes: [u8; 12] = rand::random();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Addresses other machines can reach this one at: every up, non-loopback, non-link-local IPv4
/// address. IPv4 only, because the host listens on `0.0.0.0`: an IPv6 address listed there would
/// be refused (a dual-stack socket behaves differently on Windows, macOS and Linux).
pub fn lan_addresses() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| i.ip())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_unspecified(),
            IpAddr::V6(_) => false,
        })
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// The name this computer answers to on the LAN through mDNS (`NAME.local`, as Avahi publishes
/// it), where the system says what it is (Linux).
fn mdns_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| format!("{name}.local"))
}

fn http_url(ip: IpAddr, port: u16) -> String {
    format!("http://{}", SocketAddr::new(ip, port))
}

fn invitation(addresses: &[String], room: &str) -> String {
    let address = addresses
        .first()
        .map(String::as_str)
        .unwrap_or("(this computer has no network address)");
    format!("Join my Hearth call: open Hearth, choose “Join a call”, and enter\n  address: {address}\n  room code: {room}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_codes_are_valid_rooms_and_differ() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| room_code()).collect();
        assert_eq!(codes.len(), 200);
        for code in &codes {
            assert_eq!(code.len(), 14);
            assert!(signaling::protocol::validate_room(code).is_ok(), "{code}");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
        }
    }

    #[test]
    fn lan_addresses_are_what_the_host_listens_on() {
        for ip in lan_addresses() {
            assert!(!ip.is_loopback(), "{ip}");
            assert!(
                ip.is_ipv4(),
                "{ip} is listed, but the host listens on IPv4 only"
            );
        }
    }

    /// The status of `GET /` on the host, sent with this `Host` header.
    async fn status_for_host(port: u16, host: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn hosting_serves_its_room_falls_back_to_a_free_port_and_frees_it() {
        // Take a port, then ask to host on it: the host moves to another one.
        let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
        let busy = taken.local_addr().expect("addr").port();
        let host = Host::start(Config::default(), busy).await.expect("host");
        let port = host.info.port;
        assert_ne!(port, busy);
        assert_eq!(host.info.local_url, format!("http://127.0.0.1:{port}"));
        assert!(host
            .info
            .addresses
            .iter()
            .all(|a| a.ends_with(&format!(":{port}"))));
        assert!(host.info.invite.contains(&host.info.room));
        let reachable = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
        assert!(reachable.is_ok(), "the host accepts connections");
        // Its own names are served; a page elsewhere rebinding its name to this address is not.
        assert_eq!(
            status_for_host(port, &format!("127.0.0.1:{port}")).await,
            200
        );
        assert_eq!(status_for_host(port, "rebind.example:80").await, 403);
        host.stop().await;
        // The port is free again.
        std::net::TcpListener::bind(("0.0.0.0", port)).expect("the port is free after stopping");
    }
}
