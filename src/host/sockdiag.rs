//! Resetting the TCP connections of an address through the kernel's sock_diag (NETLINK_SOCK_DIAG):
//! a dump of the connected TCP sockets, then SOCK_DESTROY for each whose local address is
//! the floating one. The messages are built and parsed in `crate::connections`.

use crate::connections::{self, families_for, Socket};
use crate::error::{Error, Result};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const NETLINK_SOCK_DIAG: i32 = 4;

/// What resetting came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reset {
    /// Connections reset.
    pub reset: usize,
    /// Connections found that the kernel would not reset (it lacks SOCK_DESTROY).
    pub unsupported: usize,
}

struct DiagSocket {
    fd: OwnedFd,
    seq: u32,
}

impl DiagSocket {
    fn open(patience: Duration) -> std::io::Result<DiagSocket> {
        // SAFETY: plain socket(2).
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_SOCK_DIAG,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a descriptor just opened and owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let timeout = libc::timeval {
            tv_sec: patience.as_secs().min(60) as libc::time_t,
            tv_usec: patience.subsec_micros().max(1000) as libc::suseconds_t,
        };
        // SAFETY: setsockopt with a value we own and its size.
        unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &timeout as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        Ok(DiagSocket { fd, seq: 0 })
    }

    fn send(&mut self, message: &[u8]) -> std::io::Result<()> {
        // SAFETY: the buffer is valid for its length; the kernel is the destination (port 0).
        let sent = unsafe {
            let mut to: libc::sockaddr_nl = std::mem::zeroed();
            to.nl_family = libc::AF_NETLINK as u16;
            libc::sendto(
                self.fd.as_raw_fd(),
                message.as_ptr().cast(),
                message.len(),
                0,
                &to as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Datagrams answering request `seq` until the answer is complete.
    fn answer(&mut self, seq: u32, deadline: Instant) -> std::io::Result<connections::Answer> {
        let mut all = connections::Answer::default();
        let mut buffer = vec![0u8; 32 * 1024];
        while !all.done {
            if Instant::now() >= deadline {
                return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
            }
            // SAFETY: recv into a buffer we own, within its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    0,
                )
            };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let answer = connections::parse_answer(&buffer[..n as usize], seq);
            all.sockets.extend(answer.sockets);
            all.done |= answer.done;
            all.errno = all.errno.or(answer.errno);
        }
        Ok(all)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }
}

fn diag_error(what: &str, e: std::io::Error) -> Error {
    Error::os(what, e, "CAP_NET_ADMIN")
}

/// The connected TCP sockets whose local address is `ip`.
pub fn connections_of(ip: IpAddr, patience: Duration) -> Result<Vec<Socket>> {
    let deadline = Instant::now() + patience;
    let mut socket =
        DiagSocket::open(patience).map_err(|e| diag_error("cannot open a sock_diag socket", e))?;
    list(&mut socket, ip, deadline)
}

fn list(socket: &mut DiagSocket, ip: IpAddr, deadline: Instant) -> Result<Vec<Socket>> {
    let mut found = Vec::new();
    for &family in families_for(ip) {
        let seq = socket.next_seq();
        socket
            .send(&connections::list_request(family, seq))
            .and_then(|()| socket.answer(seq, deadline))
            .map(|answer| found.extend(answer.sockets.into_iter().filter(|s| s.is_on(ip))))
            .map_err(|e| diag_error(&format!("cannot list the TCP connections of {ip}"), e))?;
    }
    Ok(found)
}

/// Resets every connected TCP socket whose local address is `ip` (listening ones are left
/// alone), within `patience`.
pub fn reset_connections(ip: IpAddr, patience: Duration) -> Result<Reset> {
    let deadline = Instant::now() + patience;
    let mut socket =
        DiagSocket::open(patience).map_err(|e| diag_error("cannot open a sock_diag socket", e))?;
    let mut outcome = Reset::default();
    for found in list(&mut socket, ip, deadline)? {
        let seq = socket.next_seq();
        let answer = socket
            .send(&connections::destroy_request(&found, seq))
            .and_then(|()| socket.answer(seq, deadline))
            .map_err(|e| {
                diag_error(
                    &format!("cannot reset {} -> {}", found.remote, found.local),
                    e,
                )
            })?;
        match answer.errno {
            None => outcome.reset += 1,
            // Closed meanwhile.
            Some(libc::ENOENT) => {}
            Some(libc::EOPNOTSUPP) => outcome.unsupported += 1,
            Some(errno) => {
                return Err(diag_error(
                    &format!("cannot reset {} -> {}", found.remote, found.local),
                    std::io::Error::from_raw_os_error(errno),
                ))
            }
        }
    }
    Ok(outcome)
}

/// Sends a tickle (see `connections::tickle`) for each (floating address, client) pair
/// through raw sockets bound to the floating address; how many went out. The kernel routes
/// each one and resolves the client's neighbour entry as for any other packet.
pub fn send_tickles(pairs: &[(SocketAddr, SocketAddr)]) -> Result<usize> {
    let mut sent = 0;
    let mut sockets: Vec<(IpAddr, OwnedFd)> = Vec::new();
    for &(local, remote) in pairs {
        if local.is_ipv4() != remote.is_ipv4() {
            continue;
        }
        let fd = match sockets.iter().find(|(ip, _)| *ip == local.ip()) {
            Some((_, fd)) => fd.as_raw_fd(),
            None => {
                let fd = raw_tcp_socket(local.ip()).map_err(|e| {
                    Error::os(
                        format!("cannot tickle from {}", local.ip()),
                        e,
                        "CAP_NET_RAW",
                    )
                })?;
                sockets.push((local.ip(), fd));
                sockets.last().expect("just pushed").1.as_raw_fd()
            }
        };
        let segment = connections::tickle(local, remote);
        let to = socket_address(SocketAddr::new(remote.ip(), 0));
        // SAFETY: the buffer and the address are valid for the lengths given.
        let rc = unsafe {
            libc::sendto(
                fd,
                segment.as_ptr().cast(),
                segment.len(),
                0,
                (&to.0 as *const libc::sockaddr_storage).cast(),
                to.1,
            )
        };
        if rc < 0 {
            log::debug!(
                "tickle {local} -> {remote}: {}",
                std::io::Error::last_os_error()
            );
            continue;
        }
        sent += 1;
    }
    Ok(sent)
}

fn raw_tcp_socket(local: IpAddr) -> std::io::Result<OwnedFd> {
    let family = if local.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2).
    let raw = unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_TCP,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened and owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let from = socket_address(SocketAddr::new(local, 0));
    // SAFETY: bind with an address valid for its length.
    if unsafe {
        libc::bind(
            raw,
            (&from.0 as *const libc::sockaddr_storage).cast(),
            from.1,
        )
    } < 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// `address` as a sockaddr for the C calls, with its length.
fn socket_address(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value for every field.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
