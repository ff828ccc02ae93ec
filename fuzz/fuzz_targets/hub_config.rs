#![no_main]
//! The hub's configuration loader: the real module of the binary, compiled in here (the binary
//! has no library target), fed arbitrary TOML text and one environment override.

#[allow(dead_code)]
#[path = "../../crates/surgecast/src/config.rs"]
mod config;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line, when it looks like KEY=VALUE, is an environment override.
    let (env, body) = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("SURGECAST__") && first.contains('=') => {
            let (k, v) = first.split_once('=').unwrap_or((first, ""));
            (vec![(k.to_string(), v.to_string())], rest)
        }
        _ => (Vec::new(), text),
    };
    let _ = config::HubConfig::from_toml_and_env(body, env);
});
