//! Numbers and booleans as text without `core::fmt`: its `Display` machinery (padding, width,
//! the formatter's dispatch) costs several KB of WebAssembly for what the views need, which is
//! digits and `"true"`/`"false"` in ARIA and data attributes.

/// `"true"` or `"false"`, for `aria-pressed`, `aria-busy` and `data-*` attributes.
pub fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// `n` in decimal digits.
pub fn decimal(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    // Only ASCII digits went in.
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn decimal_writes_every_digit() {
        for n in [0, 7, 10, 42, 1234567890, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
        assert_eq!(bool_text(true), "true");
        assert_eq!(bool_text(false), "false");
    }
}
