#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sqlpact_fuzz::registry(data));
