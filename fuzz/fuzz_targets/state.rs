//! Text the agent reads back: the state file (host::state::parse_state), a worker's command
//! line (host::burst::WorkerArgs::parse) and /proc/PID/stat. None may panic; what the agent
//! writes itself must read back as it was, and a resource name always becomes a safe file name.
#![no_main]

use floatip::host::burst::{self, WorkerArgs};
use floatip::host::state::{file_name, format_state, parse_state};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let state = parse_state(&text);
    assert_eq!(
        parse_state(&format_state(&state)),
        state,
        "state round trip"
    );

    let args: Vec<String> = text.split('\0').map(str::to_string).collect();
    if let Some(worker) = WorkerArgs::parse(&args) {
        assert_eq!(
            WorkerArgs::parse(&worker.to_args()),
            Some(worker),
            "worker arguments round trip"
        );
    }
    let _ = WorkerArgs::parse(
        &text
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    let _ = burst::worker_form(&text);

    let _ = burst::parse_start_time(&text);
    let _ = burst::parse_state_and_flags(&text);

    let name = file_name(&text);
    assert!(!name.is_empty() && !name.starts_with('.'), "{name:?}");
    assert!(!name.contains('/') && name.len() <= 203, "{name:?}");
});
