//! The few rtnetlink requests `linux.netDevices` needs, over a blocking
//! NETLINK_ROUTE socket of the calling thread's network namespace.

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{anyhow, bail, Result};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> Result<Rtnl> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| anyhow!("open a netlink socket: {e}"))?;
        socket
            .bind_auto()
            .map_err(|e| anyhow!("bind a netlink socket: {e}"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| anyhow!("connect a netlink socket: {e}"))?;
        // An answer that never comes is an error, not a hung create.
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        // SAFETY: setsockopt on our own socket with a timeval of its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            bail!(
                "netlink socket timeout: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Rtnl { socket, seq: 0 })
    }

    /// Send one request and collect the answers up to its ACK (or the end
    /// of a dump); a NACK is the error, with the kernel's errno.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        // Every request but a dump asks for an ACK: the end of its answers.
        // (NLM_F_DUMP is two bits, one of them NLM_F_EXCL.)
        let ack = if flags & NLM_F_DUMP != NLM_F_DUMP {
            NLM_F_ACK
        } else {
            0
        };
        header.flags = NLM_F_REQUEST | flags | ack;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket
            .send(&buf, 0)
            .map_err(|e| anyhow!("netlink send: {e}"))?;
        let mut answers = Vec::new();
        // The socket writes into the spare capacity (BufMut).
        let mut recv = Vec::with_capacity(1 << 16);
        loop {
            recv.clear();
            let size = self
                .socket
                .recv(&mut recv, 0)
                .map_err(|e| anyhow!("netlink receive: {e}"))?;
            let mut offset = 0;
            while offset < size {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&recv[offset..size])
                    .map_err(|e| anyhow!("netlink: a reply that does not parse: {e}"))?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number == self.seq {
                    match reply.payload {
                        NetlinkPayload::Done(_) => return Ok(answers),
                        NetlinkPayload::Error(err) => match err.code {
                            None => return Ok(answers),
                            Some(_) => return Err(err.to_io().into()),
                        },
                        NetlinkPayload::InnerMessage(m) => answers.push(m),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                offset += len;
            }
        }
    }

    /// The index of the link named `name`.
    pub fn link_index(&mut self, name: &str) -> Result<u32> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let answers = self
            .request(RouteNetlinkMessage::GetLink(msg), 0)
            .map_err(|e| match e.downcast_ref::<std::io::Error>() {
                Some(io) if io.raw_os_error() == Some(libc::ENODEV) => {
                    anyhow!("no network device {name:?} here")
                }
                _ => e,
            })?;
        match answers.first() {
            Some(RouteNetlinkMessage::NewLink(link)) => Ok(link.header.index),
            _ => bail!("no network device {name:?} here"),
        }
    }

    /// The link's permanent addresses of global scope (what an
    /// administrator gave it, not what the kernel or DHCP added).
    pub fn permanent_addresses(&mut self, index: u32) -> Result<Vec<AddressMessage>> {
        let answers = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => Some(a),
                _ => None,
            })
            .filter(|a| a.header.index == index && a.header.scope == AddressScope::Universe)
            .filter(|a| {
                a.attributes.iter().any(|attr| {
                    matches!(attr, AddressAttribute::Flags(f) if f.contains(AddressFlags::Permanent))
                })
            })
            .collect())
    }

    /// Move the link into the network namespace `netns`, named `name`.
    pub fn move_link(&mut self, index: u32, netns: BorrowedFd<'_>, name: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(RouteNetlinkMessage::SetLink(msg), 0)?;
        Ok(())
    }

    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0)?;
        Ok(())
    }

    /// Add an address read from the host, on the link `index` here.
    pub fn add_address(&mut self, index: u32, mut address: AddressMessage) -> Result<()> {
        address.header.index = index;
        // What the kernel reports and does not take back.
        address
            .attributes
            .retain(|a| !matches!(a, AddressAttribute::CacheInfo(_)));
        let create = netlink_packet_core::NLM_F_CREATE | netlink_packet_core::NLM_F_EXCL;
        self.request(RouteNetlinkMessage::NewAddress(address), create)?;
        Ok(())
    }
}
