//! A minimal streaming JSON writer.
//!
//! Records are written straight into the log file's buffer: building a `serde_json::Value` per
//! record costs an allocation per field, which is most of the time of a generator that must
//! write a million records in seconds. The writer only tracks whether the next item needs a
//! separating comma; the templates are responsible for balancing brackets, and the tests parse
//! every record written.

pub(crate) struct Json {
    pub(crate) buf: Vec<u8>,
    comma: bool,
}

impl Json {
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::with_capacity(1 << 20),
            comma: false,
        }
    }

    /// Clears the buffer for the next file.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.comma = false;
    }

    /// Forgets about the previous item: the next one starts without a comma.
    pub(crate) fn reset_comma(&mut self) {
        self.comma = false;
    }

    #[inline]
    fn pre(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
    }

    /// An object key; `k` must not need escaping.
    #[inline]
    pub(crate) fn key(&mut self, k: &str) {
        self.pre();
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
        self.comma = false;
    }

    #[inline]
    pub(crate) fn obj(&mut self) {
        self.pre();
        self.buf.push(b'{');
        self.comma = false;
    }

    #[inline]
    pub(crate) fn end_obj(&mut self) {
        self.buf.push(b'}');
        self.comma = true;
    }

    #[inline]
    pub(crate) fn arr(&mut self) {
        self.pre();
        self.buf.push(b'[');
        self.comma = false;
    }

    #[inline]
    pub(crate) fn end_arr(&mut self) {
        self.buf.push(b']');
        self.comma = true;
    }

    /// A string value, escaped.
    #[inline]
    pub(crate) fn str(&mut self, v: &str) {
        self.pre();
        self.buf.push(b'"');
        escape_into(&mut self.buf, v);
        self.buf.push(b'"');
        self.comma = true;
    }

    /// One string value made of the concatenation of `parts`.
    #[inline]
    pub(crate) fn strs(&mut self, parts: &[&str]) {
        self.pre();
        self.buf.push(b'"');
        for p in parts {
            escape_into(&mut self.buf, p);
        }
        self.buf.push(b'"');
        self.comma = true;
    }

    /// A string value from bytes known to be plain ASCII needing no escape (ids, times).
    #[inline]
    pub(crate) fn ascii(&mut self, v: &[u8]) {
        debug_assert!(
            v.iter()
                .all(|&b| (0x20..0x7F).contains(&b) && b != b'"' && b != b'\\')
        );
        self.pre();
        self.buf.push(b'"');
        self.buf.extend_from_slice(v);
        self.buf.push(b'"');
        self.comma = true;
    }

    #[inline]
    pub(crate) fn num(&mut self, v: i64) {
        self.pre();
        let mut tmp = itoa_buf();
        self.buf.extend_from_slice(fmt_i64(&mut tmp, v));
        self.comma = true;
    }

    #[inline]
    pub(crate) fn bool(&mut self, v: bool) {
        self.pre();
        self.buf
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        self.comma = true;
    }

    #[inline]
    pub(crate) fn null(&mut self) {
        self.pre();
        self.buf.extend_from_slice(b"null");
        self.comma = true;
    }

    /// `"k":"v"`
    #[inline]
    pub(crate) fn ks(&mut self, k: &str, v: &str) {
        self.key(k);
        self.str(v);
    }

    /// `"k":"<parts...>"`
    #[inline]
    pub(crate) fn kss(&mut self, k: &str, parts: &[&str]) {
        self.key(k);
        self.strs(parts);
    }

    #[inline]
    pub(crate) fn kn(&mut self, k: &str, v: i64) {
        self.key(k);
        self.num(v);
    }

    #[inline]
    pub(crate) fn kb(&mut self, k: &str, v: bool) {
        self.key(k);
        self.bool(v);
    }

    #[inline]
    pub(crate) fn knull(&mut self, k: &str) {
        self.key(k);
        self.null();
    }

    /// `"k":{` (close with [`Json::end_obj`]).
    #[inline]
    pub(crate) fn kobj(&mut self, k: &str) {
        self.key(k);
        self.obj();
    }

    /// `"k":[` (close with [`Json::end_arr`]).
    #[inline]
    pub(crate) fn karr(&mut self, k: &str) {
        self.key(k);
        self.arr();
    }

    /// `"k":{}`
    #[inline]
    pub(crate) fn kempty(&mut self, k: &str) {
        self.key(k);
        self.obj();
        self.end_obj();
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn fmt_i64(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Appends `s` escaped as the inside of a JSON string (RFC 8259: quote, backslash and control
/// characters; everything else, including non-ASCII, is written as UTF-8).
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(crate::rng::HEX[usize::from(b >> 4)]);
            out.push(crate::rng::HEX[usize::from(b & 0xF)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_through_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ backslash",
            "new\nline\ttab\r",
            "\u{1}\u{1f}ctl",
            "ünïcødé ✓",
            "",
        ] {
            let mut out = vec![b'"'];
            escape_into(&mut out, s);
            out.push(b'"');
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn writer_places_commas() {
        let mut j = Json::new();
        j.obj();
        j.ks("a", "x");
        j.kn("b", -42);
        j.karr("c");
        j.num(1);
        j.obj();
        j.kb("d", true);
        j.end_obj();
        j.null();
        j.end_arr();
        j.kempty("e");
        j.knull("f");
        j.kss("g", &["p", "\"q"]);
        j.end_obj();
        let v: serde_json::Value = serde_json::from_slice(&j.buf).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a":"x","b":-42,"c":[1,{"d":true},null],"e":{},"f":null,"g":"p\"q"})
        );
    }

    #[test]
    fn numbers_format() {
        let mut b = itoa_buf();
        assert_eq!(fmt_i64(&mut b, 0), b"0");
        assert_eq!(fmt_i64(&mut b, i64::MIN), b"-9223372036854775808");
        assert_eq!(fmt_i64(&mut b, 1234567), b"1234567");
    }
}
