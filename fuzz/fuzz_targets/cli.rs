//! The command line: arbitrary argv and environment bytes into cli::parse, which must never
//! panic and must map every outcome to an OCF code. What it hands on is validated as the agent
//! would, under the same rules as the `params` target.
#![no_main]

use floatip::cli::{self, Invocation};
use floatip::error::Kind;
use floatip::ocf::{self, Status};
use floatip::params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (args, env) = floatip_fuzz::cli_input(data);
    match cli::parse(&args, &env) {
        Invocation::Agent(request) => {
            if let Err(e) = params::parse(&request.raw, &request.meta) {
                assert_eq!(e.kind, Kind::Configured, "{e:?}");
                assert!(!e.reason.contains(['\n', '\r']), "{:?}", e.reason);
            }
            assert!(request.meta.timeout_ms > 0, "a zero timeout");
            assert!(request.instance.as_deref() != Some(""));
        }
        // The resident reads its plan from its standard input, not from argv.
        Invocation::Resident(_) => {}
        Invocation::Print(text, status) => {
            assert!(
                matches!(status, Status::Success | Status::ErrArgs),
                "{status:?}"
            );
            assert!(!text.is_empty());
        }
        Invocation::Fail(e) => {
            assert!(
                matches!(
                    ocf::exit_status(e.kind, None, false),
                    Status::ErrArgs | Status::ErrUnimplemented
                ),
                "{e:?}"
            );
            assert!(!e.reason.contains('\n'), "{:?}", e.reason);
        }
        // The operator's commands (listen, status, probe-segment) and whatever comes next.
        _ => {}
    }
});
