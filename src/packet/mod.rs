//! ARP and Neighbor Advertisement frames (pure).
