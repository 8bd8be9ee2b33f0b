//! Per-resource state under the state directory (/run/floatip by default): a lock file that
//! serialises operations of one resource, a record of where start put the address and which
//! resident process runs for it, the last conflict the resident saw, and the resident's
//! control socket.
//!
//! Every resource name maps to its own file names (escaped, with a hash suffix when long), so
//! two resources never share a lock or a state file. The directory is 0700 and files 0600;
//! every file is opened with O_NOFOLLOW|O_NONBLOCK and must then be a regular file owned by
//! us, so a planted symlink, FIFO or foreign file is never followed, blocked on or trusted.

use crate::domain::Record;
use crate::error::{Error, Result};
use log::warn;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_STATE_DIR: &str = "/run/floatip";
const MAX_STATE_BYTES: u64 = 4096;
/// The longest escaped resource name the state file records (it must stay well within
/// MAX_STATE_BYTES).
const MAX_RECORDED_NAME: usize = 2048;

/// File names stay this short, so that `<dir fd path>/<name>.ctl` fits in a Unix socket
/// address (108 bytes) and `<name>.state.<pid>` in NAME_MAX.
pub const MAX_NAME: usize = 72;
/// Bytes kept from a long escaped name before its hash.
const KEPT_PREFIX: usize = MAX_NAME - 1 - 32;

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    pub fn parse(text: &str) -> Option<FileId> {
        let (dev, ino) = text.split_once(':')?;
        Some(FileId {
            dev: dev.parse().ok()?,
            ino: ino.parse().ok()?,
        })
    }
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

/// The identity of a resident process: PID, start time in clock ticks since boot
/// (/proc/PID/stat field 22, which a recycled PID cannot share) and the executable it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidentId {
    pub pid: i32,
    pub start_time: u64,
    pub exe: FileId,
}

/// What the state says about this resource's resident process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Resident {
    /// No state, or state that cannot vouch: a resident may run unrecorded.
    #[default]
    Unknown,
    /// None runs: every one was ended by the operation that wrote this.
    Absent,
    /// This one was started and recorded before it could act.
    Recorded(ResidentId),
}

/// The last time another machine claimed the address while floatip held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub at_unix: u64,
    pub ip: IpAddr,
    pub theirs: String,
    pub ours: String,
}

impl Conflict {
    fn format(&self) -> String {
        format!(
            "at={}\nip={}\ntheirs={}\nours={}\n",
            self.at_unix, self.ip, self.theirs, self.ours
        )
    }

    fn parse(text: &str) -> Option<Conflict> {
        let get = |key: &str| value(text, key).map(str::to_string);
        Some(Conflict {
            at_unix: get("at")?.parse().ok()?,
            ip: get("ip")?.parse().ok()?,
            theirs: get("theirs")?,
            ours: get("ours")?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub record: Option<Record>,
    pub resident: Resident,
    /// The network_namespace the address was started in, for `floatip status`.
    pub netns: Option<String>,
}

pub struct StateDir {
    dir: PathBuf,
    /// The resource's name as Pacemaker (or the hand-run command) gave it.
    instance: String,
    /// Its file-name form (see `file_name`).
    name: String,
}

/// Bytes kept as they are in file names; everything else, the escape character included,
/// becomes %XX.
fn is_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
}

/// 128-bit FNV-1a: stable across Rust versions and builds (a file name must survive an
/// upgrade of the binary), and wide enough that distinct names never share a suffix.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

/// A resource name's file name: injective, so two resources never share files. Every byte
/// outside [A-Za-z0-9._:-] is escaped as %XX ('%' too), a leading '.' as well (no hidden or
/// relative names), the empty name is "%"; a result longer than MAX_NAME keeps its first
/// part and ends in '~' and a hash of the whole name ('~' never appears otherwise).
pub fn file_name(instance: &str) -> String {
    if instance.is_empty() {
        return "%".to_string();
    }
    let escaped = escape(instance);
    if escaped.len() <= MAX_NAME {
        return escaped;
    }
    // Cut before an escape that would be split.
    let mut cut = KEPT_PREFIX;
    if let Some(percent) = escaped[cut - 2..cut].find('%') {
        cut = cut - 2 + percent;
    }
    format!(
        "{}~{:032x}",
        &escaped[..cut],
        fnv1a_128(instance.as_bytes())
    )
}

/// Every byte that is not safe in a file name as %XX (a leading dot too).
fn escape(instance: &str) -> String {
    let mut escaped = String::new();
    for (i, b) in instance.bytes().enumerate() {
        if is_safe(b) && !(i == 0 && b == b'.') {
            escaped.push(char::from(b));
        } else {
            escaped.push_str(&format!("%{b:02X}"));
        }
    }
    escaped
}

/// The resource name back from a file name; hashed names keep their file-name form.
pub fn instance_name(file_name: &str) -> String {
    if file_name == "%" {
        return String::new();
    }
    if file_name.contains('~') {
        return file_name.to_string();
    }
    let bytes = file_name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Opens a private file without following a symlink or blocking on a FIFO, then checks it
/// is a regular file owned by us.
fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.uid() != euid() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file owned by this user",
        ));
    }
    Ok(file)
}

/// The PIDs holding a flock on the file `id`, from /proc/locks' text. A line reads
/// `N: FLOCK ADVISORY WRITE PID MAJOR:MINOR:INODE START END` (major and minor in hex, the
/// inode in decimal: fs/locks.c); blocked waiters (`N: -> FLOCK ...`) hold nothing.
pub fn flock_holders(locks: &str, id: FileId) -> Vec<i32> {
    let major = libc::major(id.dev as libc::dev_t);
    let minor = libc::minor(id.dev as libc::dev_t);
    let wanted = format!("{major:02x}:{minor:02x}:{}", id.ino);
    locks
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            if fields.next()? != "FLOCK" {
                return None;
            }
            let pid: i32 = fields.nth(2)?.parse().ok()?;
            (fields.next()? == wanted && pid > 0).then_some(pid)
        })
        .collect()
}

/// Waits between lock attempts: short at first, since most waits are for a quick operation.
fn lock_backoff(attempt: u32) -> Duration {
    Duration::from_millis(u64::from(attempt.min(10)).max(1))
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>, instance: &str) -> StateDir {
        StateDir {
            dir: dir.into(),
            instance: instance.to_string(),
            name: file_name(instance),
        }
    }

    /// The state of a resource found by its file name (see `resources`).
    /// The resource whose files are named `name`. A long name's file names keep only a
    /// prefix and a hash, so its full name comes from the state file, which records it (and
    /// must map back to `name`): residents are known by their full name.
    pub fn from_file_name(dir: impl Into<PathBuf>, name: &str) -> StateDir {
        let mut found = StateDir {
            dir: dir.into(),
            instance: instance_name(name),
            name: name.to_string(),
        };
        if name.contains('~') {
            let recorded = found
                .read_private("state")
                .and_then(|text| value(&text, "resource").map(instance_name))
                .filter(|full| file_name(full) == name);
            if let Some(full) = recorded {
                found.instance = full;
            }
        }
        found
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The resource's file name, which every file of it starts with.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.name))
    }

    /// The control socket's file name in the directory.
    pub fn control_name(&self) -> String {
        format!("{}.ctl", self.name)
    }

    /// The directory's identity, which names the resident processes started from it (so two
    /// labs or containers on one kernel, each with its own directory, never end each other's).
    pub fn identity(&self) -> Option<FileId> {
        fs::symlink_metadata(&self.dir)
            .ok()
            .filter(|m| m.is_dir())
            .map(|m| FileId::of(&m))
    }

    /// Creates the directory 0700 if needed and checks an existing one is ours and private.
    pub fn ensure(&self) -> Result<()> {
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::kernel(
                    format!("cannot create state directory {}", self.dir.display()),
                    e,
                ))
            }
        }
        let meta = fs::symlink_metadata(&self.dir)
            .map_err(|e| Error::kernel(format!("state directory {}", self.dir.display()), e))?;
        if !meta.is_dir() || meta.uid() != euid() || meta.permissions().mode() & 0o022 != 0 {
            return Err(Error::generic(format!(
                "state directory {} is not a private directory owned by this user",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Takes the resource's lock, waiting at most `patience` for a concurrent operation on the
    /// same resource. Released when the returned file is dropped (or the process dies).
    pub fn lock(&self, patience: Duration) -> Result<File> {
        self.ensure()?;
        let path = self.path("lock");
        let file = open_private(
            &path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
        )
        .map_err(|e| Error::kernel(format!("cannot use lock {}", path.display()), e))?;
        let give_up = Instant::now() + patience;
        for attempt in 0.. {
            // SAFETY: flock on a descriptor we own; LOCK_NB never blocks.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(file);
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::kernel(format!("cannot lock {}", path.display()), e));
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(lock_backoff(attempt).min(left));
        }
        Err(Error::timeout(format!(
            "another operation on this resource held {} for the {}ms this operation could wait",
            path.display(),
            patience.as_millis()
        )))
    }

    /// The processes holding this resource's lock (none when it cannot be read).
    pub fn lock_holders(&self) -> Vec<i32> {
        let Ok(meta) = fs::symlink_metadata(self.path("lock")) else {
            return Vec::new();
        };
        let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
        flock_holders(&locks, FileId::of(&meta))
    }

    /// Reads the state; a missing, foreign or garbled file is a state that vouches for
    /// nothing (logged).
    pub fn load(&self) -> State {
        self.read_private("state")
            .map(|text| parse_state(&text))
            .unwrap_or_default()
    }

    /// A private file's text, or None when it is missing, not ours or unreadable (logged).
    fn read_private(&self, suffix: &str) -> Option<String> {
        let path = self.path(suffix);
        let file = match open_private(&path, OpenOptions::new().read(true)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn!("ignoring {}: {e}", path.display());
                return None;
            }
        };
        let mut bytes = Vec::new();
        if let Err(e) = file.take(MAX_STATE_BYTES).read_to_end(&mut bytes) {
            warn!("ignoring unreadable {}: {e}", path.display());
            return None;
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Replaces the state atomically (write a private temporary file, then rename).
    pub fn save(&self, state: &State) -> Result<()> {
        if state == &State::default() {
            return self.remove();
        }
        // Only a hashed file name loses the resource's name; the others spell it.
        let escaped = escape(&self.instance);
        let resource = if self.name.contains('~') && escaped.len() <= MAX_RECORDED_NAME {
            format!("resource={escaped}\n")
        } else {
            String::new()
        };
        self.write_private("state", &(resource + &format_state(state)))
    }

    pub fn record_conflict(&self, conflict: &Conflict) -> Result<()> {
        self.write_private("conflict", &conflict.format())
    }

    pub fn last_conflict(&self) -> Option<Conflict> {
        Conflict::parse(&self.read_private("conflict")?)
    }

    fn write_private(&self, suffix: &str, text: &str) -> Result<()> {
        self.ensure()?;
        let path = self.path(suffix);
        let tmp = self.path(&format!("{suffix}.{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::kernel(format!("cannot write {}", path.display()), e)
        })
    }

    pub fn remove(&self) -> Result<()> {
        let _ = fs::remove_file(self.path("conflict"));
        let path = self.path("state");
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::kernel(
                format!("cannot remove state {}", path.display()),
                e,
            )),
        }
    }

    /// Removes the control socket a killed resident left behind (it never answers again).
    pub fn remove_control_socket(&self) {
        let path = self.path("ctl");
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = fs::remove_file(&path);
        }
    }

    /// When the state was last written (start, or the last stop), if it exists.
    pub fn modified_unix(&self) -> Option<u64> {
        let modified = fs::symlink_metadata(self.path("state"))
            .ok()?
            .modified()
            .ok()?;
        Some(
            modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs(),
        )
    }
}

/// The resources that have a state file in `dir`, by file name (see `StateDir::from_file_name`).
pub fn resources(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".state").map(str::to_string))
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .collect();
    names.sort();
    names
}

fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
}

pub fn format_state(state: &State) -> String {
    let mut out = String::new();
    if let Some(r) = &state.record {
        out += &format!("ip={}\nnic={}\nprefix={}\n", r.ip, r.nic, r.prefix_len);
        if !r.adapters.is_empty() {
            let indexes: Vec<String> = r.adapters.iter().map(u32::to_string).collect();
            out += &format!("adapters={}\n", indexes.join(","));
        }
    }
    if let Some(ns) = &state.netns {
        out += &format!("netns={ns}\n");
    }
    match state.resident {
        Resident::Unknown => {}
        Resident::Absent => out += "resident=none\n",
        Resident::Recorded(r) => {
            out += &format!("resident={} {} {}\n", r.pid, r.start_time, r.exe);
        }
    }
    out
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= crate::params::IFNAME_MAX
        && !text.contains(['/', '\0'])
        && !text.chars().any(char::is_control)
}

/// Parses the key=value lines; anything malformed drops just the part it belongs to, and a
/// resident line that does not parse vouches for nothing.
pub fn parse_state(text: &str) -> State {
    let record = (|| {
        let ip: IpAddr = value(text, "ip")?.parse().ok()?;
        let nic = value(text, "nic")?;
        if !is_name(nic) {
            return None;
        }
        let prefix_len: u8 = value(text, "prefix")?.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        // Written by an older version, or unreadable: the names alone are looked at.
        let adapters = value(text, "adapters")
            .and_then(|list| {
                list.split(',')
                    .map(|i| i.parse::<u32>().ok().filter(|&i| i > 0))
                    .collect::<Option<Vec<u32>>>()
            })
            .unwrap_or_default();
        (1..=max).contains(&prefix_len).then(|| Record {
            ip,
            nic: nic.to_string(),
            prefix_len,
            adapters,
        })
    })();
    let resident = match value(text, "resident") {
        Some("none") => Resident::Absent,
        Some(line) => (|| {
            let mut fields = line.split(' ');
            let pid: i32 = fields.next()?.parse().ok()?;
            let start_time: u64 = fields.next()?.parse().ok()?;
            let exe = FileId::parse(fields.next()?)?;
            (pid > 1 && fields.next().is_none()).then_some(Resident::Recorded(ResidentId {
                pid,
                start_time,
                exe,
            }))
        })()
        .unwrap_or(Resident::Unknown),
        None => Resident::Unknown,
    };
    let netns = value(text, "netns")
        .filter(|ns| {
            !ns.is_empty()
                && *ns != "."
                && *ns != ".."
                && !ns.contains(['/', '\0'])
                && !ns.chars().any(char::is_control)
        })
        .map(str::to_string);
    State {
        record,
        resident,
        netns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sample() -> State {
        State {
            record: Some(Record {
                ip: "2001:db8::5".parse().unwrap(),
                nic: "eth0".into(),
                prefix_len: 64,
                adapters: vec![2, 5],
            }),
            resident: Resident::Recorded(ResidentId {
                pid: 4242,
                start_time: 987654,
                exe: FileId { dev: 2049, ino: 77 },
            }),
            netns: Some("blue".into()),
        }
    }

    #[test]
    fn state_round_trips() {
        for state in [
            sample(),
            State {
                resident: Resident::Absent,
                ..State::default()
            },
            State::default(),
        ] {
            assert_eq!(parse_state(&format_state(&state)), state);
        }
    }

    #[test]
    fn hostile_state_files_vouch_for_nothing() {
        for text in [
            "",
            "\0\0\0",
            "ip=300.1.1.1\nnic=eth0\nprefix=24",
            "resident=1 5 1:2",
            "resident=-9 x 1:2",
            "resident=4242 987654",
            "resident=4242 987654 1:2 extra",
            "resident=4242 987654 a:b",
            "resident=\u{0}",
            "burst_pid=4242\nburst_start=5",
            &"x".repeat(10_000),
        ] {
            let state = parse_state(text);
            assert_eq!(state.resident, Resident::Unknown, "{text:?}");
            assert!(state.record.is_none(), "{text:?}");
        }
    }

    #[test]
    fn hostile_records_and_namespaces_are_dropped() {
        for text in [
            "ip=198.51.100.1\nnic=../../x\nprefix=24",
            "ip=198.51.100.1\nnic=averyveryverylongname\nprefix=24",
            "ip=198.51.100.1\nnic=eth0\nprefix=33",
            "ip=198.51.100.1\nnic=eth0\nprefix=0",
            "ip=198.51.100.1\nnic=\nprefix=24",
        ] {
            assert!(parse_state(text).record.is_none(), "{text:?}");
        }
        for ns in ["..", ".", "a/b", "a\u{1b}b", ""] {
            assert_eq!(parse_state(&format!("netns={ns}\n")).netns, None, "{ns:?}");
        }
        let state = parse_state("resident=none\nip=198.51.100.1\nnic=eth0\nprefix=24\n");
        assert_eq!(state.resident, Resident::Absent);
        assert!(state.record.is_some_and(|r| r.adapters.is_empty()));
        // A bad index list costs the indexes, not the record.
        for adapters in ["2,x", "0", "2,,3", "-1", ""] {
            let text = format!("ip=198.51.100.1\nnic=eth0\nprefix=24\nadapters={adapters}\n");
            let record = parse_state(&text).record;
            assert!(
                record.is_some_and(|r| r.adapters.is_empty()),
                "{adapters:?}"
            );
        }
    }

    #[test]
    fn file_names_keep_readable_names_readable() {
        assert_eq!(file_name("vip"), "vip");
        assert_eq!(file_name("vip:0"), "vip:0");
        assert_eq!(file_name("ip-198.51.100.50"), "ip-198.51.100.50");
        assert_eq!(file_name("../etc/passwd"), "%2E.%2Fetc%2Fpasswd");
        assert_eq!(file_name(""), "%");
        assert_eq!(file_name("a%b"), "a%25b");
    }

    #[test]
    fn names_that_collided_before_get_their_own_files() {
        for (a, b) in [
            ("vipé", "vipè"),
            ("a/b", "a_b"),
            ("a%2Fb", "a/b"),
            ("a~b", "a%7Eb"),
            (".x", "%2Ex"),
            ("", "%"),
        ] {
            assert_ne!(file_name(a), file_name(b), "{a:?} and {b:?}");
        }
        let long_a = format!("{}a", "x".repeat(300));
        let long_b = format!("{}b", "x".repeat(300));
        assert_ne!(file_name(&long_a), file_name(&long_b));
        assert!(file_name(&long_a).len() <= MAX_NAME);
        // The hashed form of a name never equals the escaped form of another.
        let hashed = file_name(&long_a);
        assert_ne!(file_name(&hashed), hashed);
    }

    #[test]
    fn lock_holders_are_read_from_proc_locks() {
        // st_dev 0x00000019 is 0:25; the inode is decimal.
        let id = FileId { dev: 25, ino: 4242 };
        let locks = "\
1: FLOCK  ADVISORY  WRITE 1234 00:19:4242 0 EOF
1: -> FLOCK  ADVISORY  WRITE 1300 00:19:4242 0 EOF
2: POSIX  ADVISORY  WRITE 77 00:19:4242 0 EOF
3: FLOCK  ADVISORY  WRITE 555 00:19:42420 0 EOF
4: FLOCK  ADVISORY  WRITE 556 00:1a:4242 0 EOF
5: FLOCK  ADVISORY  WRITE -1 00:19:4242 0 EOF
6: OFDLCK ADVISORY  READ  -1 00:19:4242 0 EOF
garbage
";
        assert_eq!(flock_holders(locks, id), vec![1234]);
        let big = FileId {
            dev: libc::makedev(259, 3),
            ino: 7,
        };
        assert_eq!(
            flock_holders("9: FLOCK  ADVISORY  WRITE 9 103:03:7 0 EOF\n", big),
            vec![9]
        );
    }

    #[test]
    fn file_names_are_injective_safe_and_short() {
        // A deterministic pseudo-random walk over names with a long common prefix, the escape
        // and hash characters, multi-byte characters and control bytes.
        let alphabet: Vec<char> = "aA0._:-%~/ é\u{1}\u{7f}€😀".chars().collect();
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut seen: HashMap<String, String> = HashMap::new();
        for i in 0..20_000 {
            let len = (next() % 120) as usize;
            let prefix = if i % 3 == 0 {
                "x".repeat(70)
            } else {
                String::new()
            };
            let name: String = prefix
                + &(0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect::<String>();
            let file = file_name(&name);
            assert!(file.len() <= MAX_NAME, "{file:?}");
            assert!(!file.starts_with('.') && !file.is_empty(), "{file:?}");
            assert!(
                file.bytes().all(|b| is_safe(b) || b == b'%' || b == b'~'),
                "{file:?}"
            );
            if !file.contains('~') {
                assert_eq!(instance_name(&file), name, "decodes back");
            }
            if let Some(other) = seen.insert(file.clone(), name.clone()) {
                assert_eq!(other, name, "{other:?} and {name:?} share {file:?}");
            }
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "floatip-state-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_fifo_in_place_of_a_file_is_refused_at_once() {
        let dir = temp_dir("fifo");
        let state = StateDir::new(&dir, "vip");
        state.ensure().unwrap();
        for suffix in ["state", "lock"] {
            let path = std::ffi::CString::new(
                dir.join(format!("vip.{suffix}"))
                    .into_os_string()
                    .into_encoded_bytes(),
            )
            .unwrap();
            // SAFETY: a valid C path.
            assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        }
        let began = Instant::now();
        assert_eq!(state.load(), State::default());
        assert!(state.lock(Duration::from_secs(5)).is_err());
        assert!(began.elapsed() < Duration::from_secs(5), "never blocks");
        // Saving replaces the FIFO with a real file.
        state.save(&sample()).unwrap();
        assert_eq!(state.load(), sample());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 15, finding 12: `floatip status` missed the residents of long resource names,
    /// whose file names keep only a prefix and a hash.
    #[test]
    fn a_long_resource_name_is_found_again_from_its_files() {
        let dir = temp_dir("long");
        let long = format!("vip-{}/é", "x".repeat(120));
        let other = format!("vip-{}/e", "x".repeat(120));
        for name in [&long, &other] {
            StateDir::new(&dir, name).save(&sample()).unwrap();
        }
        let names = resources(&dir);
        assert_eq!(names.len(), 2);
        for name in &names {
            assert!(name.contains('~'), "hashed: {name}");
            let found = StateDir::from_file_name(&dir, name);
            assert_eq!(file_name(found.instance()), *name);
            assert!([&long, &other].contains(&&found.instance().to_string()));
            assert_eq!(
                found.load(),
                sample(),
                "the name line is no part of the state"
            );
        }
        // A state file that names another resource is not believed.
        let lying = StateDir::new(&dir, &other);
        fs::write(
            dir.join(format!("{}.state", lying.name())),
            format!("resource={}\n", escape(&long)),
        )
        .unwrap();
        assert_eq!(
            StateDir::from_file_name(&dir, lying.name()).instance(),
            lying.name()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_lock_waits_only_as_long_as_it_is_told() {
        let dir = temp_dir("lock");
        let state = StateDir::new(&dir, "vip");
        let held = state.lock(Duration::ZERO).unwrap();
        let again = StateDir::new(&dir, "vip");
        let err = again.lock(Duration::from_millis(30)).unwrap_err();
        assert!(err.reason.contains("30ms"), "{}", err.reason);
        // Another resource has its own lock.
        assert!(StateDir::new(&dir, "vip2").lock(Duration::ZERO).is_ok());
        drop(held);
        assert!(again.lock(Duration::ZERO).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_directory_that_cannot_be_made_keeps_the_kernels_errno() {
        let dir = temp_dir("notdir");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        let e = StateDir::new(file.join("sub"), "r").ensure().unwrap_err();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(e.kind, crate::error::Kind::Kernel);
        assert_eq!(e.errno(), Some(libc::ENOTDIR), "{}", e.reason);
        assert!(
            e.reason.starts_with("cannot create state directory "),
            "{}",
            e.reason
        );
    }
}
