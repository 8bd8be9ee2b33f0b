//! How the fuzz targets read their input bytes, shared with the seed generator
//! (`cargo run --example seeds`) so that seeds and targets agree on the format.
//!
//! Inputs are records separated by NUL bytes: a NUL never occurs in a real environment value
//! or argument, so every other byte (newlines, non-UTF-8, shell metacharacters) can stand in a
//! value.

use floatip::cli::Environment;
use floatip::params::{Meta, RawParams};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

pub const SEP: u8 = 0;

/// A number from arbitrary bytes: decimal when it is one, otherwise the bytes folded, so that
/// every u64 (0, 1, huge) is reachable.
pub fn number(bytes: &[u8]) -> u64 {
    if let Some(n) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        return n;
    }
    bytes
        .iter()
        .fold(0u64, |acc, b| acc.rotate_left(8) ^ u64::from(*b))
}

/// `params` input: NUL-separated `name=value` records. Names starting with `@` set a meta
/// attribute (`@interval`, `@timeout`, `@clone_max`); every other name goes to
/// `RawParams::set` as it is, with the value as raw bytes.
pub fn params_input(data: &[u8]) -> (RawParams, Meta) {
    let mut raw = RawParams::new();
    let mut meta = Meta::default();
    for record in data.split(|b| *b == SEP) {
        let (name, value) = match record.iter().position(|b| *b == b'=') {
            Some(i) => (&record[..i], &record[i + 1..]),
            None => (record, &[][..]),
        };
        match name {
            b"@interval" => meta.interval_ms = number(value),
            b"@timeout" => meta.timeout_ms = number(value),
            b"@clone_max" => meta.clone_max = number(value),
            _ => {
                if let Ok(name) = std::str::from_utf8(name) {
                    raw.set(name, OsString::from_vec(value.to_vec()));
                }
            }
        }
    }
    (raw, meta)
}

/// Encodes a parameter set (and optional meta records) the way `params_input` reads it.
pub fn params_encode(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    join(pairs.iter().map(|(k, v)| {
        let mut r = k.as_bytes().to_vec();
        r.push(b'=');
        r.extend_from_slice(v);
        r
    }))
}

/// `cli` input: NUL-separated argv records, an empty record, then `KEY=VALUE` environment
/// records (keys must be UTF-8, as the agent drops other keys before cli::parse).
pub fn cli_input(data: &[u8]) -> (Vec<OsString>, Environment) {
    let mut args = Vec::new();
    let mut env = Environment::new();
    let mut in_env = false;
    for record in data.split(|b| *b == SEP) {
        if !in_env {
            if record.is_empty() {
                in_env = true;
            } else {
                args.push(OsString::from_vec(record.to_vec()));
            }
            continue;
        }
        let (key, value) = match record.iter().position(|b| *b == b'=') {
            Some(i) => (&record[..i], &record[i + 1..]),
            None => (record, &[][..]),
        };
        if let Ok(key) = std::str::from_utf8(key) {
            env.insert(key.to_string(), OsString::from_vec(value.to_vec()));
        }
    }
    (args, env)
}

/// Encodes argv and environment the way `cli_input` reads them.
pub fn cli_encode(args: &[&[u8]], env: &[(&str, &[u8])]) -> Vec<u8> {
    let mut records: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    records.push(Vec::new());
    for (k, v) in env {
        let mut r = k.as_bytes().to_vec();
        r.push(b'=');
        r.extend_from_slice(v);
        records.push(r);
    }
    join(records.into_iter())
}

fn join(records: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(&r);
    }
    out
}
