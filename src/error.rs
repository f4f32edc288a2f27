//! Error texts a person reads: io errors without Rust's "(os error N)"
//! tail, and long texts cut to a size a socket packet and a person take.

/// An io::Error as words a person reads, without Rust's "(os error N)" tail.
pub fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    }
}

/// The longest error text sent as it is. A packet must fit the socket's
/// send buffer (about 208 KiB by default, `net.core.wmem_default`), or the
/// send fails and the error is lost: a 1 MiB hostname once ended as "the
/// init ended without a word". A person reads 4 KiB at most anyway.
pub const MAX_ERROR_TEXT: usize = 4096;

/// `text`, or, when longer than MAX_ERROR_TEXT, its head and its tail
/// around a marker saying how much was cut: the head says what failed, the
/// tail (the errno) why, and a long value quoted in between goes.
pub fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_ERROR_TEXT {
        return text.into();
    }
    let keep = (MAX_ERROR_TEXT - 64) / 2;
    let head_end = char_boundary_at_or_before(text, keep);
    let tail_start = char_boundary_at_or_before(text, text.len() - keep);
    let cut = tail_start - head_end;
    format!(
        "{}[… {cut} bytes cut …]{}",
        &text[..head_end],
        &text[tail_start..]
    )
    .into()
}

/// The largest char boundary of `text` at or before byte `at`.
fn char_boundary_at_or_before(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_texts_and_char_boundaries() {
        assert_eq!(shorten("mount: EPERM"), "mount: EPERM");
        let exact = "x".repeat(MAX_ERROR_TEXT);
        assert_eq!(shorten(&exact), exact);
        // Multi-byte characters everywhere: every cut lands between two.
        let wide = "é€😀".repeat(5000);
        let short = shorten(&wide);
        assert!(short.len() <= MAX_ERROR_TEXT);
        assert!(
            short.starts_with("é€😀") && short.ends_with("é€😀"),
            "{short}"
        );
    }
}
