//! Linux AF_PACKET capture: one raw socket bound to one interface, read with `recvfrom`.
//!
//! No libpcap: the socket is opened with `libc` directly. Every `unsafe` block is a plain
//! system call on values this module owns; each says why it is sound.

use super::LiveError;
use crate::capture::LinkType;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `sll_pkttype` of a packet the host sent (linux/if_packet.h).
const PACKET_OUTGOING: u8 = 4;
/// `getsockopt(SOL_PACKET, PACKET_STATISTICS)` (linux/if_packet.h).
const PACKET_STATISTICS: libc::c_int = 6;
/// ARPHRD_* interface types (linux/if_arp.h) ftpflow can decode.
const ARPHRD_ETHER: u32 = 1;
const ARPHRD_LOOPBACK: u32 = 772;
const ARPHRD_RAWIP: u32 = 519;
const ARPHRD_NONE: u32 = 65534;

/// `struct tpacket_stats` (linux/if_packet.h): counters since the last read.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

/// Kernel counters of the socket, accumulated over the whole capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel passed to the socket (including those it then dropped).
    pub packets: u64,
    /// Packets dropped because the socket's receive queue was full.
    pub drops: u64,
}

/// One received packet's lengths.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Bytes stored in the buffer.
    pub caplen: usize,
    /// The packet's length on the wire.
    pub orig_len: usize,
}

pub struct RawSocket {
    fd: OwnedFd,
    ifindex: i32,
    loopback: bool,
    pub link_type: LinkType,
    stats: KernelStats,
}

/// The ARPHRD type of an interface, from sysfs.
fn arphrd(iface: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The interface index, or `None` when there is no such interface.
fn ifindex(iface: &str) -> Option<i32> {
    let name = std::ffi::CString::new(iface).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call; the function
    // only reads it.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then(|| i32::try_from(index).ok()).flatten()
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value is a live `c_int` and its exact size is passed; the kernel
    // only reads it. `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl RawSocket {
    /// Opens a capture socket on `iface` with a receive buffer of `rcvbuf` bytes.
    pub fn open(iface: &str, rcvbuf: usize) -> Result<RawSocket, LiveError> {
        let ifindex =
            ifindex(iface).ok_or_else(|| LiveError::NoSuchInterface(iface.to_string()))?;
        let kind = arphrd(iface).unwrap_or(ARPHRD_ETHER);
        let link_type = match kind {
            // Loopback is Ethernet-framed (zero MACs) on AF_PACKET sockets.
            ARPHRD_ETHER | ARPHRD_LOOPBACK => LinkType::Ethernet,
            ARPHRD_NONE | ARPHRD_RAWIP => LinkType::Raw,
            other => {
                return Err(LiveError::UnsupportedInterface {
                    iface: iface.to_string(),
                    arphrd: other,
                });
            }
        };
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: socket() takes plain integers and returns a new descriptor or -1.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::c_int::from(proto),
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => {
                    LiveError::PermissionDenied(iface.to_string())
                }
                _ => LiveError::Socket(e),
            });
        }
        // SAFETY: `raw` is a descriptor socket() just returned and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let size = libc::c_int::try_from(rcvbuf).unwrap_or(libc::c_int::MAX);
        // SO_RCVBUFFORCE passes net.core.rmem_max (needs CAP_NET_ADMIN); fall back to the
        // capped SO_RCVBUF.
        if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
            setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size)
                .map_err(LiveError::Socket)?;
        }

        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a live, initialised sockaddr_ll and its exact size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(LiveError::Socket(io::Error::last_os_error()));
        }
        let mut s = RawSocket {
            fd,
            ifindex,
            loopback: kind == ARPHRD_LOOPBACK,
            link_type,
            stats: KernelStats::default(),
        };
        // Reading the statistics resets them: start from zero at bind time.
        s.read_stats().map_err(LiveError::Socket)?;
        s.stats = KernelStats::default();
        Ok(s)
    }

    /// Receives the next packet of the interface into `buf`, waiting at most `timeout`.
    /// `Ok(None)`: nothing arrived in time (or a signal interrupted the wait).
    pub fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<Received>> {
        let mut waited = false;
        loop {
            // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut sll_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: `buf` is a live, writable buffer of the length passed; `sll` and
            // `sll_len` are live and `sll_len` holds the size of `sll`, so the kernel writes
            // within both. MSG_TRUNC makes the return value the packet's full length, which
            // may exceed `buf.len()`; only `buf.len()` bytes are written.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut sll_len,
                )
            };
            if n >= 0 {
                // Packets of other interfaces can arrive between socket() and bind(); a
                // loopback packet is seen twice (sent and received): keep it once, as
                // libpcap does.
                if sll.sll_ifindex != self.ifindex
                    || (self.loopback && sll.sll_pkttype == PACKET_OUTGOING)
                {
                    continue;
                }
                let orig_len = n as usize;
                return Ok(Some(Received {
                    caplen: orig_len.min(buf.len()),
                    orig_len,
                }));
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => return Ok(None),
                Some(libc::EAGAIN) if waited => return Ok(None),
                Some(libc::EAGAIN) => {
                    waited = true;
                    if !self.poll(timeout)? {
                        return Ok(None);
                    }
                }
                _ => return Err(e),
            }
        }
    }

    /// Waits until the socket is readable; false on timeout or signal.
    fn poll(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `pfd` is one live pollfd and the count passed is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(rc > 0)
    }

    fn read_stats(&mut self) -> io::Result<()> {
        let mut st = TpacketStats::default();
        let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: `st` is a live repr(C) struct laid out as the kernel's tpacket_stats and
        // `len` holds its size, so the kernel writes within it.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStats).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The kernel resets its counters at each read: accumulate.
        self.stats.packets += u64::from(st.tp_packets);
        self.stats.drops += u64::from(st.tp_drops);
        Ok(())
    }

    /// The kernel's counters so far.
    pub fn stats(&mut self) -> KernelStats {
        // A failure to read leaves the previous totals: statistics are informative only.
        let _ = self.read_stats();
        self.stats
    }
}

/// One network interface, for `ftpflow live --list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    /// operstate: "up", "down", "unknown" (loopback and some virtual devices), …
    pub state: String,
    /// What ftpflow can capture from it: "ethernet", "loopback", "raw ip", or another type.
    pub kind: String,
    pub mac: Option<String>,
    pub addresses: Vec<std::net::IpAddr>,
}

/// Every interface of this network namespace (sysfs), with its IP addresses (getifaddrs).
pub fn list_interfaces() -> io::Result<Vec<InterfaceInfo>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/sys/class/net")? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let read = |f: &str| {
            std::fs::read_to_string(entry.path().join(f))
                .map(|s| s.trim().to_string())
                .ok()
        };
        let kind = match arphrd(&name) {
            Some(ARPHRD_ETHER) => "ethernet".to_string(),
            Some(ARPHRD_LOOPBACK) => "loopback".to_string(),
            Some(ARPHRD_NONE | ARPHRD_RAWIP) => "raw ip".to_string(),
            Some(n) => format!("unsupported (ARPHRD {n})"),
            None => "unknown".to_string(),
        };
        let mac =
            read("address").filter(|m| !m.is_empty() && kind != "loopback" && kind != "raw ip");
        out.push(InterfaceInfo {
            name,
            state: read("operstate").unwrap_or_else(|| "unknown".to_string()),
            kind,
            mac,
            addresses: Vec::new(),
        });
    }
    for (name, addr) in addresses()? {
        if let Some(i) = out.iter_mut().find(|i| i.name == name)
            && !i.addresses.contains(&addr)
        {
            i.addresses.push(addr);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// (interface name, IP address) pairs from getifaddrs.
fn addresses() -> io::Result<Vec<(String, std::net::IpAddr)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`, which is freed below with
    // freeifaddrs exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, valid until
        // freeifaddrs; its fields are read, never kept past this loop.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `ifa_addr` is non-null and points to a sockaddr whose family says which
        // larger sockaddr it is; it is only reinterpreted as the one its family names.
        let addr = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    Some(std::net::IpAddr::from(
                        u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                    ))
                }
                libc::AF_INET6 => {
                    let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    Some(std::net::IpAddr::from(sin6.sin6_addr.s6_addr))
                }
                _ => None,
            }
        };
        if let Some(a) = addr {
            out.push((name, a));
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed once; no reference into it remains.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}
