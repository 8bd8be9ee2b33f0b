//! Per-resource state under the state directory (/run/floatip by default): a lock file that
//! serialises operations of one resource, and a record of where start put the address and
//! which background burst process runs for it.
//!
//! The directory is 0700 and files 0600; files are opened with O_NOFOLLOW and must be regular
//! files owned by us, so a planted symlink or a foreign file is never followed or trusted.

use crate::agent::Record;
use crate::error::{Error, Result};
use log::warn;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

pub const DEFAULT_STATE_DIR: &str = "/run/floatip";
const MAX_STATE_BYTES: u64 = 4096;

/// The identity of a background burst process: PID plus its start time in clock ticks since
/// boot (/proc/PID/stat field 22), which a recycled PID cannot share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstId {
    pub pid: i32,
    pub start_time: u64,
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
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.trim().to_string())
        };
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
    pub burst: Option<BurstId>,
}

pub struct StateDir {
    dir: PathBuf,
    /// File-name-safe resource name.
    name: String,
}

/// Makes a resource instance name safe as a file name ("vip:0" stays readable).
pub fn file_name(instance: &str) -> String {
    let cleaned: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("rsc{cleaned}")
    } else {
        cleaned
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn check_owned_regular(path: &Path, file: &File) -> Result<()> {
    let meta = file
        .metadata()
        .map_err(|e| Error::generic(format!("{}: {e}", path.display())))?;
    if !meta.file_type().is_file() || meta.uid() != euid() {
        return Err(Error::generic(format!(
            "{} is not a regular file owned by this user; refusing to use it",
            path.display()
        )));
    }
    Ok(())
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>, instance: &str) -> StateDir {
        StateDir {
            dir: dir.into(),
            name: file_name(instance),
        }
    }

    fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.name))
    }

    /// Creates the directory 0700 if needed and checks an existing one is ours and private.
    pub fn ensure(&self) -> Result<()> {
        match fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::generic(format!(
                    "cannot create state directory {}: {e}",
                    self.dir.display()
                )))
            }
        }
        let meta = fs::symlink_metadata(&self.dir)
            .map_err(|e| Error::generic(format!("state directory {}: {e}", self.dir.display())))?;
        if !meta.is_dir() || meta.uid() != euid() || meta.permissions().mode() & 0o022 != 0 {
            return Err(Error::generic(format!(
                "state directory {} is not a private directory owned by this user",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Takes the resource's lock, waiting for a concurrent operation on the same resource.
    /// Released when the returned file is dropped (or the process dies).
    pub fn lock(&self) -> Result<File> {
        self.ensure()?;
        let path = self.path("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Error::generic(format!("cannot open lock {}: {e}", path.display())))?;
        check_owned_regular(&path, &file)?;
        // SAFETY: flock on a descriptor we own; blocking is intended.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::generic(format!(
                "cannot lock {}: {e}",
                path.display()
            )));
        }
        Ok(file)
    }

    /// Reads the state; a missing, foreign or garbled file is an empty state (logged).
    pub fn load(&self) -> State {
        self.read_private("state")
            .map(|text| parse_state(&text))
            .unwrap_or_default()
    }

    /// A private file's text, or None when it is missing, not ours or unreadable (logged).
    fn read_private(&self, suffix: &str) -> Option<String> {
        let path = self.path(suffix);
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn!("ignoring {}: {e}", path.display());
                return None;
            }
        };
        if let Err(e) = check_owned_regular(&path, &file) {
            warn!("ignoring state: {e}");
            return None;
        }
        let mut text = String::new();
        if file
            .take(MAX_STATE_BYTES)
            .read_to_string(&mut text)
            .is_err()
        {
            warn!("ignoring unreadable {}", path.display());
            return None;
        }
        Some(text)
    }

    /// The directory and the resource's file name, for a worker to find its way back.
    pub fn location(&self) -> (String, String) {
        (self.dir.to_string_lossy().into_owned(), self.name.clone())
    }

    /// Replaces the state atomically (write a private temporary file, then rename).
    pub fn save(&self, state: &State) -> Result<()> {
        if state == &State::default() {
            return self.remove();
        }
        self.write_private("state", &format_state(state))
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
            Error::generic(format!("cannot write {}: {e}", path.display()))
        })
    }

    pub fn remove(&self) -> Result<()> {
        let _ = fs::remove_file(self.path("conflict"));
        let path = self.path("state");
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::generic(format!(
                "cannot remove state {}: {e}",
                path.display()
            ))),
        }
    }
}

/// The resources that have a state file in `dir` (their file-name-safe names).
pub fn instances(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".state").map(str::to_string))
        .collect();
    names.sort();
    names
}

impl StateDir {
    /// When the state was last written (start, or the last burst), if it exists.
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

pub fn format_state(state: &State) -> String {
    let mut out = String::new();
    if let Some(r) = &state.record {
        out += &format!("ip={}\nnic={}\nprefix={}\n", r.ip, r.nic, r.prefix_len);
    }
    if let Some(b) = &state.burst {
        out += &format!("burst_pid={}\nburst_start={}\n", b.pid, b.start_time);
    }
    out
}

/// Parses the key=value lines; anything malformed drops just the part it belongs to.
pub fn parse_state(text: &str) -> State {
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
    };
    let record = (|| {
        let ip: IpAddr = get("ip")?.parse().ok()?;
        let nic = get("nic")?;
        if nic.is_empty() || nic.len() > crate::params::IFNAME_MAX {
            return None;
        }
        let prefix_len: u8 = get("prefix")?.parse().ok()?;
        Some(Record {
            ip,
            nic: nic.to_string(),
            prefix_len,
        })
    })();
    let burst = (|| {
        let pid: i32 = get("burst_pid")?.parse().ok()?;
        let start_time: u64 = get("burst_start")?.parse().ok()?;
        (pid > 1).then_some(BurstId { pid, start_time })
    })();
    State { record, burst }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let state = State {
            record: Some(Record {
                ip: "2001:db8::5".parse().unwrap(),
                nic: "eth0".into(),
                prefix_len: 64,
            }),
            burst: Some(BurstId {
                pid: 4242,
                start_time: 987654,
            }),
        };
        assert_eq!(parse_state(&format_state(&state)), state);
    }

    #[test]
    fn garbage_is_an_empty_state() {
        for text in [
            "",
            "\0\0\0",
            "ip=300.1.1.1\nnic=eth0\nprefix=24",
            "burst_pid=1\nburst_start=5",
            "burst_pid=-9\nburst_start=x",
            "nic=../../x\nip=198.51.100.1\nprefix=24",
        ] {
            let state = parse_state(text);
            assert!(state.burst.is_none(), "{text:?}");
            if text.starts_with("nic=../../x") {
                assert!(state.record.is_some());
            } else {
                assert!(state.record.is_none(), "{text:?}");
            }
        }
    }

    #[test]
    fn instance_names_become_safe_file_names() {
        assert_eq!(file_name("vip"), "vip");
        assert_eq!(file_name("vip:0"), "vip:0");
        assert_eq!(file_name("../etc/passwd"), "rsc.._etc_passwd");
        assert_eq!(file_name(""), "rsc");
    }
}
