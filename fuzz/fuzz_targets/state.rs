//! Text the agent and the resident read back: the state file (host::state::parse_state), the
//! resident's launch line and control requests, /proc/PID/stat, and resource names turned into
//! file names. None may panic; what floatip writes itself must read back as it was, and a
//! resource name always becomes a short, safe file name of its own.
#![no_main]

use floatip::host::process;
use floatip::host::state::{file_name, format_state, instance_name, parse_state, MAX_NAME};
use floatip::resident::{Launch, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let state = parse_state(&text);
    assert_eq!(
        parse_state(&format_state(&state)),
        state,
        "state round trip"
    );

    if let Some(launch) = Launch::from_line(&text) {
        let line = launch.to_line().expect("a parsed launch serialises");
        assert_eq!(Launch::from_line(&line), Some(launch), "launch round trip");
    }
    if let Ok(request) = serde_json::from_str::<Request>(&text) {
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
    }

    let _ = process::parse_start_time(&text);
    let _ = process::parse_state_and_flags(&text);

    let name = file_name(&text);
    assert!(!name.is_empty() && !name.starts_with('.'), "{name:?}");
    assert!(!name.contains('/') && name.len() <= MAX_NAME, "{name:?}");
    if !name.contains('~') {
        assert_eq!(instance_name(&name), text, "file names decode back");
    }
});
