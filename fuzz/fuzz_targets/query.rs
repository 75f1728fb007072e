#![no_main]
// See crates/cairn-fuzz: the body is shared with the regression tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz::query(data));
