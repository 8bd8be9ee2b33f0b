//! The trace of one operation run with trace_ra, where ocf-shellfuncs would put it (see
//! `cli::Trace`): a file per operation under the trace directory, a file named by
//! OCF_TRACE_FILE, or a descriptor the caller opened.

use std::fs::{File, OpenOptions};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

/// Where a traced operation's log goes, as ocf-shellfuncs' `ocf_start_trace` decides it
/// (resource-agents; OCF_TRACE_RA or the trace_ra parameter turn it on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// OCF_TRACE_FILE=3..9: a descriptor the caller opened for writing.
    Fd(i32),
    /// OCF_TRACE_FILE=/an/absolute/path.
    File(PathBuf),
    /// The default: `<trace_dir>/<type>/<instance>.<action>.<date +%F.%T>`, where trace_dir
    /// is OCF_RESKEY_trace_dir or `$HA_VARLIB/trace_ra` (HA_VARLIB: /var/lib/heartbeat).
    /// ocf-shellfuncs leaves it out when its standard input is a terminal.
    Default {
        dir: PathBuf,
        resource_type: String,
        instance: String,
        action: String,
    },
    /// Tracing is on but has nowhere to go (no instance name): the debug log goes to stderr,
    /// as `set -x` does in a shell agent.
    Stderr,
}

/// The opened destination, and its name for the log.
pub struct TraceSink {
    pub file: File,
    pub name: String,
}

/// Opens the trace destination. Ok(None) when there is none: tracing to stderr, or the
/// default file while standard input is a terminal (ocf-shellfuncs skips it then: a person is
/// watching). An error is the reason the trace cannot happen, for a warning.
pub fn open(trace: &Trace) -> Result<Option<TraceSink>, String> {
    match trace {
        Trace::Stderr => Ok(None),
        Trace::Fd(fd) => {
            // SAFETY: dup(2) of a descriptor number; the copy is ours to own and close.
            let copy = unsafe { libc::dup(*fd) };
            if copy < 0 {
                return Err(format!(
                    "OCF_TRACE_FILE {fd} is not an open descriptor ({}), trace not going to happen",
                    std::io::Error::last_os_error()
                ));
            }
            // SAFETY: `copy` is a fresh descriptor nothing else owns.
            let file = File::from(unsafe { OwnedFd::from_raw_fd(copy) });
            Ok(Some(TraceSink {
                file,
                name: format!("descriptor {fd}"),
            }))
        }
        Trace::File(path) => create(path.clone()).map(Some),
        Trace::Default {
            dir,
            resource_type,
            instance,
            action,
        } => {
            // SAFETY: isatty(3) only inspects the descriptor.
            if unsafe { libc::isatty(0) } == 1 {
                return Ok(None);
            }
            let path = dir
                .join(resource_type)
                .join(format!("{instance}.{action}.{}", timestamp()));
            create(path).map(Some)
        }
    }
}

fn create(path: PathBuf) -> Result<TraceSink, String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            format!(
                "{} not writable ({e}), trace not going to happen",
                path.display()
            )
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| {
            format!(
                "{} not writable ({e}), trace not going to happen",
                path.display()
            )
        })?;
    Ok(TraceSink {
        file,
        name: path.display().to_string(),
    })
}

/// Local time as `date +%F.%T` prints it: 2012-11-27.08:37:08.
fn timestamp() -> String {
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: time(NULL) has no preconditions; localtime_r writes into the tm we own.
    let ok = unsafe {
        let now = libc::time(std::ptr::null_mut());
        !libc::localtime_r(&now, &mut tm).is_null()
    };
    if !ok {
        return "unknown-time".to_string();
    }
    format!(
        "{:04}-{:02}-{:02}.{:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// The time of day for each trace line, `HH:MM:SS.mmm` (local), like ocf-shellfuncs' PS4.
pub fn time_of_day() -> String {
    local_time("%H:%M:%S")
}

/// Local date and time as Pacemaker's log lines start: "Dec 06 23:43:11.398".
pub fn date_and_time() -> String {
    local_time("%b %d %H:%M:%S")
}

/// Now, in local time, formatted by strftime(3) `format`, with milliseconds appended.
fn local_time(format: &str) -> String {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut text = [0u8; 64];
    let Ok(format) = std::ffi::CString::new(format) else {
        return "--:--:--".to_string();
    };
    // SAFETY: the calls write only into values we own, text within its length.
    let written = unsafe {
        if libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) != 0
            || libc::localtime_r(&now.tv_sec, &mut tm).is_null()
        {
            return "--:--:--".to_string();
        }
        libc::strftime(text.as_mut_ptr().cast(), text.len(), format.as_ptr(), &tm)
    };
    format!(
        "{}.{:03}",
        String::from_utf8_lossy(&text[..written]),
        now.tv_nsec / 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_has_ocf_shellfuncs_timestamp() {
        let t = timestamp();
        // 2012-11-27.08:37:08
        assert_eq!(t.len(), 19, "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], ".");
        assert_eq!(&t[13..14], ":");
    }

    #[test]
    fn log_lines_start_as_pacemakers_do() {
        // Dec 06 23:43:11.398
        let t = date_and_time();
        assert_eq!(t.len(), 19, "{t}");
        assert!(t[..3].chars().all(|c| c.is_ascii_alphabetic()), "{t}");
        assert_eq!((&t[3..4], &t[6..7], &t[15..16]), (" ", " ", "."), "{t}");
        assert_eq!(time_of_day().len(), 12);
    }
}
