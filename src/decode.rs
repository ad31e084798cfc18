//! Link / IP / TCP decoding of one captured packet (no state, no allocation).
//!
//! INTERFACE CONTRACT (the implementation is TODO).

use crate::capture::LinkType;
use std::net::SocketAddr;

/// TCP header flags as the raw flag byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub fn fin(self) -> bool { self.0 & Self::FIN != 0 }
    pub fn syn(self) -> bool { self.0 & Self::SYN != 0 }
    pub fn rst(self) -> bool { self.0 & Self::RST != 0 }
    pub fn ack(self) -> bool { self.0 & Self::ACK != 0 }
}

/// One decoded TCP segment, borrowing its payload from the packet.
#[derive(Clone, Debug)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire but the capture cut off (snap length).
    pub missing: u32,
}

/// One decoded UDP datagram (DNS for the ladder's lookup row).
#[derive(Clone, Debug)]
pub struct UdpDatagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: &'a [u8],
}

#[derive(Clone, Debug)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    /// Anything else: ARP, ICMP, IP fragments after the first, other protocols.
    Other,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("malformed {layer} header")]
    Malformed { layer: &'static str },
}

/// Decodes one packet's link, IP and transport headers.
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let _ = (link, data);
    todo!()
}
