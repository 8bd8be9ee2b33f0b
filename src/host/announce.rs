//! Sending announcement frames on an interface through pnet's datalink (AF_PACKET).

use crate::agent::Link;
use crate::error::{Error, Result};
use crate::packet::{arp, ndp};
use pnet_datalink::{Channel, Config, DataLinkSender, NetworkInterface};
use std::net::IpAddr;

/// An open send path on one interface, reused for every round of a burst.
pub struct Announcer {
    sender: Box<dyn DataLinkSender>,
    link: Link,
}

impl Announcer {
    pub fn open(link: &Link) -> Result<Announcer> {
        // Built by hand from what netlink already told us: pnet's interfaces() would list
        // every address on the host (getifaddrs), a cost that grows with the number of VIPs.
        let interface = NetworkInterface {
            name: link.name.clone(),
            description: String::new(),
            index: link.index,
            mac: link.mac,
            ips: Vec::new(),
            flags: 0,
        };
        let config = Config {
            // Sending only: keep the receive side tiny and never put the NIC in promiscuous mode.
            read_buffer_size: 64,
            write_buffer_size: 128,
            promiscuous: false,
            ..Config::default()
        };
        match pnet_datalink::channel(&interface, config) {
            Ok(Channel::Ethernet(sender, _)) => Ok(Announcer {
                sender,
                link: link.clone(),
            }),
            Ok(_) => Err(Error::generic(format!(
                "{}: unexpected datalink channel type",
                link.name
            ))),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(Error::perm(format!(
                "cannot open a raw socket on {}: {e} (needs CAP_NET_RAW)",
                link.name
            ))),
            Err(e) => Err(Error::generic(format!(
                "cannot open a raw socket on {}: {e}",
                link.name
            ))),
        }
    }

    fn send(&mut self, frame: &[u8]) -> Result<()> {
        match self.sender.send_to(frame, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::generic(format!(
                "cannot send on {}: {e}",
                self.link.name
            ))),
            None => Err(Error::generic(format!(
                "cannot send on {}: no buffer",
                self.link.name
            ))),
        }
    }

    /// One round: ARP request and reply for IPv4, one unsolicited NA for IPv6.
    pub fn round(&mut self, ip: IpAddr) -> Result<()> {
        let mac = self
            .link
            .mac
            .ok_or_else(|| Error::generic(format!("{} has no MAC address", self.link.name)))?;
        match ip {
            IpAddr::V4(v4) => {
                self.send(&arp::announcement_frame(mac, v4, arp::Form::Request))?;
                self.send(&arp::announcement_frame(mac, v4, arp::Form::Reply))
            }
            IpAddr::V6(v6) => {
                let router = ipv6_forwarding(&self.link.name);
                self.send(&ndp::advertisement_frame(mac, v6, router))
            }
        }
    }
}

/// The NA's Router flag mirrors whether this interface forwards IPv6 (RFC 4861 § 7.2.4).
/// /proc/sys/net follows the network namespace of the reader, so this is the right one.
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}
