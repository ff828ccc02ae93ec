#![no_main]
//! The model files the hub loads at start: site registry, OPEL scheme, alert rules, tokens.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = surgecast_core::SiteRegistry::from_toml_str(text);
    let _ = surgecast_escalation::OpelScheme::from_toml_str(text);
    let _ = surgecast_escalation::RuleSet::from_toml_str(text);
    let _ = surgecast_api::TokenStore::from_toml_str(text);
});
