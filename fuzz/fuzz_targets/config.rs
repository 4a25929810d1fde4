//! `Config::from_toml` on arbitrary input: lines `PORTERO_…=…` at the start are environment
//! overrides, the rest is the file. It may refuse anything, but never panics, and a refusal
//! always says something.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portero::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // `client_secret_file` reads a file: the fuzzer could name /dev/zero or /dev/stdin and hang.
    if input.to_ascii_lowercase().contains("file") {
        return;
    }
    let mut env = Vec::new();
    let mut rest = input;
    while let Some(line) = rest.strip_prefix("PORTERO_") {
        let (line, after) = line.split_once('\n').unwrap_or((line, ""));
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        env.push((format!("PORTERO_{name}"), value.to_owned()));
        rest = after;
    }
    if let Err(err) = Config::from_toml(rest, env, None) {
        assert!(err.to_string().len() > "configuration: ".len(), "{err:?}");
    }
});
