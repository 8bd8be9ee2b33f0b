//! Classic BPF programs (pure) that let the kernel drop, before any process wakes, what a
//! socket's reader would ignore: on a packet socket, frames that are no neighbour discovery
//! or no claim of one address; on the resident's netlink socket, notifications about other
//! addresses. A thousand residents on one adapter then wake for their own events only.
//!
//! The programs are assembled from a few instructions with symbolic targets, and tested with
//! the small interpreter at the end against frames and messages built here.

use std::net::IpAddr;

pub type Instruction = libc::sock_filter;

const LD_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const LD_H: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LD_B: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET: u16 = 0x06; // BPF_RET | BPF_K

/// What a socket keeps of a packet the program accepts (all of it).
const KEEP: u32 = 0xffff;

/// Offsets of the values the kernel keeps beside a frame, loaded like frame bytes.
pub const PKTTYPE: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
pub const VLAN_TAG: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_VLAN_TAG) as u32;
pub const VLAN_TAG_PRESENT: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_VLAN_TAG_PRESENT) as u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Next,
    /// Past the next `n` instructions.
    Skip(u8),
    Accept,
    Drop,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Load(u16, u32),
    /// Compares the loaded value with k (jset: tests its bits).
    Jump(u16, u32, Target, Target),
}

/// A program under construction: loads and tests, then accept and drop at the end.
#[derive(Default)]
struct Program(Vec<Op>);

impl Program {
    fn load_word(mut self, at: u32) -> Program {
        self.0.push(Op::Load(LD_W, at));
        self
    }
    fn load_half(mut self, at: u32) -> Program {
        self.0.push(Op::Load(LD_H, at));
        self
    }
    fn load_byte(mut self, at: u32) -> Program {
        self.0.push(Op::Load(LD_B, at));
        self
    }
    fn jump_eq(mut self, k: u32, then: Target, otherwise: Target) -> Program {
        self.0.push(Op::Jump(JEQ, k, then, otherwise));
        self
    }
    /// Goes on when the value is `k`, else to `otherwise`.
    fn require(mut self, k: u32, otherwise: Target) -> Program {
        self.0.push(Op::Jump(JEQ, k, Target::Next, otherwise));
        self
    }
    /// Goes to `then` when the value is `k`, else on.
    fn when(mut self, k: u32, then: Target) -> Program {
        self.0.push(Op::Jump(JEQ, k, then, Target::Next));
        self
    }
    /// Goes to `then` when any bit of `k` is set in the value, else on.
    fn when_any_bit(mut self, k: u32, then: Target) -> Program {
        self.0.push(Op::Jump(JSET, k, then, Target::Next));
        self
    }

    /// The instructions, with an accept and a drop appended and every jump resolved.
    fn finish(self, fall_through: Target) -> Vec<Instruction> {
        let mut ops = self.0;
        // Whatever passes every test meets `fall_through`.
        ops.push(Op::Jump(JEQ, 0, fall_through, fall_through));
        let accept = ops.len();
        let drop = accept + 1;
        let offset = |from: usize, target: Target| -> u8 {
            let to = match target {
                Target::Next => from + 1,
                Target::Skip(n) => from + 1 + usize::from(n),
                Target::Accept => accept,
                Target::Drop => drop,
            };
            u8::try_from(to - from - 1).expect("a short program")
        };
        let mut out: Vec<Instruction> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| match *op {
                Op::Load(code, k) => instruction(code, 0, 0, k),
                Op::Jump(code, k, then, otherwise) => {
                    instruction(code, offset(i, then), offset(i, otherwise), k)
                }
            })
            .collect();
        out.push(instruction(RET, 0, 0, KEEP));
        out.push(instruction(RET, 0, 0, 0));
        out
    }
}

const fn instruction(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
    Instruction { code, jt, jf, k }
}

/// Frames of this interface's own VLAN, and (unless `outgoing_too`) not sent by this host.
///
/// The kernel takes an 802.1Q or 802.1ad tag out of the frame (skb_vlan_untag) before any
/// packet socket sees it, so on a trunk a frame of VLAN 42 reaches this socket looking
/// untagged; only VLAN id 0 (a priority tag) belongs to the untagged interface.
fn own_vlan(outgoing_too: bool) -> Program {
    let program = Program::default();
    let program = if outgoing_too {
        program
    } else {
        // PACKET_OUTGOING: this host's own announcements and probes are no claim.
        program
            .load_word(PKTTYPE)
            .when(libc::PACKET_OUTGOING as u32, Target::Drop)
    };
    program
        .load_word(VLAN_TAG_PRESENT)
        // Untagged: past the two instructions that look at the tag.
        .jump_eq(0, Target::Skip(2), Target::Next)
        .load_word(VLAN_TAG)
        // Reached only with a tag: any VLAN id but 0 is another VLAN.
        .when_any_bit(0x0fff, Target::Drop)
}

/// ARP, and ICMPv6 neighbour solicitations and advertisements (types 135, 136), of this
/// interface's VLAN; with `outgoing_too` this host's own included (`floatip listen`).
pub fn neighbour_frames(outgoing_too: bool) -> Vec<Instruction> {
    own_vlan(outgoing_too)
        .load_half(12)
        .when(0x0806, Target::Accept)
        .require(0x86dd, Target::Drop)
        .load_byte(20)
        .require(58, Target::Drop)
        .load_byte(54)
        .when(135, Target::Accept)
        .require(136, Target::Drop)
        .finish(Target::Accept)
}

/// Only what can claim `ip` from another host (see `packet::claimant`, not probing): ARP
/// with `ip` as its sender address, or a neighbour advertisement whose target is `ip`.
pub fn claims_of(ip: IpAddr) -> Vec<Instruction> {
    let program = own_vlan(false).load_half(12);
    match ip {
        IpAddr::V4(v4) => program
            .require(0x0806, Target::Drop)
            // Ethernet (14) + hardware and protocol types, lengths, operation (8) + sender MAC (6).
            .load_word(28)
            .require(u32::from(v4), Target::Drop)
            .finish(Target::Accept),
        IpAddr::V6(v6) => {
            let mut program = program
                .require(0x86dd, Target::Drop)
                .load_byte(20)
                .require(58, Target::Drop)
                .load_byte(54)
                .require(136, Target::Drop);
            // Ethernet (14) + IPv6 header (40) + type, code, checksum, flags (8): the target.
            for (i, word) in v6.octets().chunks(4).enumerate() {
                let word = u32::from_be_bytes(word.try_into().expect("four bytes"));
                program = program
                    .load_word(62 + 4 * i as u32)
                    .require(word, Target::Drop);
            }
            program.finish(Target::Accept)
        }
    }
}

/// `floatip probe-segment` frames only.
pub fn segment_probes() -> Vec<Instruction> {
    Program::default()
        .load_half(12)
        .require(u32::from(super::segment::ETHERTYPE), Target::Drop)
        .finish(Target::Accept)
}

/// A netlink field of the host's byte order as a BPF load sees it (big-endian).
fn host_half(value: u16) -> u32 {
    u32::from(u16::from_be_bytes(value.to_ne_bytes()))
}

const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const NLM_F_MULTI: u16 = 2;

/// On the resident's netlink socket: drops address notifications about any address but
/// `ip`; keeps everything else (links, replies to its own requests, errors). Anything laid
/// out otherwise than expected is kept, so the program only ever saves work.
///
/// The kernel puts the address first among the attributes of an address message
/// (inet_fill_ifaddr, inet6_fill_ifaddr: IFA_ADDRESS, or IFA_LOCAL with a peer). A dump's
/// reply packs many messages into one buffer and is flagged NLM_F_MULTI: kept whole.
pub fn address_notices_of(ip: IpAddr) -> Vec<Instruction> {
    // nlmsghdr: length 0, type 4, flags 6, sequence 8, port 12; ifaddrmsg: family 16,
    // prefix 17, flags 18, scope 19, index 20; the first attribute: length 24, type 26, data 28.
    let (family, attribute_len) = match ip {
        IpAddr::V4(_) => (libc::AF_INET as u32, 8),
        IpAddr::V6(_) => (libc::AF_INET6 as u32, 20),
    };
    // An address message goes on; anything else is kept.
    let mut program = Program::default()
        .load_half(4)
        .jump_eq(host_half(RTM_NEWADDR), Target::Skip(1), Target::Next)
        .require(host_half(RTM_DELADDR), Target::Accept)
        .load_half(6)
        .when_any_bit(host_half(NLM_F_MULTI), Target::Accept)
        .load_byte(16)
        .require(family, Target::Drop)
        .load_half(24)
        .require(host_half(attribute_len), Target::Accept)
        .load_half(26)
        .jump_eq(host_half(IFA_ADDRESS), Target::Skip(1), Target::Next)
        .require(host_half(IFA_LOCAL), Target::Accept);
    let octets: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    for (i, word) in octets.chunks(4).enumerate() {
        let word = u32::from_be_bytes(word.try_into().expect("four bytes"));
        program = program
            .load_word(28 + 4 * i as u32)
            .require(word, Target::Drop);
    }
    program.finish(Target::Accept)
}

#[cfg(test)]
pub mod tests;
