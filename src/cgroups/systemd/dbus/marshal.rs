//! Writing D-Bus messages, little-endian: a header with the fields a call,
//! reply, error or signal needs, and bodies made of the argument types the
//! systemd calls take. Alignment is counted from the message start (the
//! body starts 8-aligned, so counting from the body start is the same).

use super::error::{Error, Result};
use crate::cgroups::systemd::properties::{Property, Value};

/// The largest message the spec allows (2^27 bytes).
pub const MAX_MESSAGE: usize = 1 << 27;
/// The largest array the spec allows (2^26 bytes).
pub const MAX_ARRAY: usize = 1 << 26;

/// The message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Call = 1,
    Return = 2,
    Error = 3,
    Signal = 4,
}

/// Header field codes.
pub(super) const PATH: u8 = 1;
pub(super) const INTERFACE: u8 = 2;
pub(super) const MEMBER: u8 = 3;
pub(super) const ERROR_NAME: u8 = 4;
pub(super) const REPLY_SERIAL: u8 = 5;
pub(super) const DESTINATION: u8 = 6;
pub(super) const SENDER: u8 = 7;
pub(super) const SIGNATURE: u8 = 8;

/// One body argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// `s`
    Str(&'a str),
    /// `o`
    Path(&'a str),
    /// `b`
    Bool(bool),
    /// `u`
    U32(u32),
    /// `as`
    Strs(&'a [String]),
    /// `au`
    U32s(&'a [u32]),
    /// `a(sv)`: unit properties by name.
    Props(&'a [Property]),
    /// `a(sa(sv))`, empty: StartTransientUnit's auxiliary units.
    NoAuxUnits,
    /// `v`
    Variant(&'a Value),
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Path(_) => "o",
            Arg::Bool(_) => "b",
            Arg::U32(_) => "u",
            Arg::Strs(_) => "as",
            Arg::U32s(_) => "au",
            Arg::Props(_) => "a(sv)",
            Arg::NoAuxUnits => "a(sa(sv))",
            Arg::Variant(_) => "v",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct Outgoing<'a> {
    pub kind: Option<Kind>,
    pub path: Option<&'a str>,
    pub interface: Option<&'a str>,
    pub member: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub error_name: Option<&'a str>,
    pub reply_serial: Option<u32>,
    pub args: Vec<Arg<'a>>,
}

impl<'a> Outgoing<'a> {
    /// A method call of `interface.member` on `path` at `destination`.
    pub fn call(
        destination: &'a str,
        path: &'a str,
        interface: &'a str,
        member: &'a str,
        args: Vec<Arg<'a>>,
    ) -> Self {
        Outgoing {
            kind: Some(Kind::Call),
            path: Some(path),
            interface: Some(interface),
            member: Some(member),
            destination: Some(destination),
            args,
            ..Outgoing::default()
        }
    }

    /// The reply to call `serial` from `sender` (None on a direct
    /// connection).
    pub fn reply(serial: u32, sender: Option<&'a str>, args: Vec<Arg<'a>>) -> Self {
        Outgoing {
            kind: Some(Kind::Return),
            reply_serial: Some(serial),
            destination: sender,
            args,
            ..Outgoing::default()
        }
    }

    /// The error answer `name` with `text` to call `serial` from `sender`.
    pub fn error(serial: u32, sender: Option<&'a str>, name: &'a str, text: &'a str) -> Self {
        Outgoing {
            kind: Some(Kind::Error),
            reply_serial: Some(serial),
            destination: sender,
            error_name: Some(name),
            args: vec![Arg::Str(text)],
            ..Outgoing::default()
        }
    }

    /// A broadcast signal `interface.member` from `path`.
    pub fn signal(path: &'a str, interface: &'a str, member: &'a str, args: Vec<Arg<'a>>) -> Self {
        Outgoing {
            kind: Some(Kind::Signal),
            path: Some(path),
            interface: Some(interface),
            member: Some(member),
            args,
            ..Outgoing::default()
        }
    }

    /// The body's signature: the arguments' signatures in order.
    pub fn signature(&self) -> String {
        self.args.iter().map(Arg::signature).collect()
    }

    /// The whole message as bytes, with `serial`.
    pub fn encode(&self, serial: u32) -> Result<Vec<u8>> {
        let kind = self
            .kind
            .ok_or_else(|| Error::Protocol("a message without a type".into()))?;
        let mut body = Writer::default();
        for arg in &self.args {
            body.arg(arg);
        }
        let signature = self.signature();
        let mut w = Writer::default();
        w.byte(b'l');
        w.byte(kind as u8);
        w.byte(0); // flags
        w.byte(1); // protocol version
        w.u32(u32::try_from(body.buf.len()).unwrap_or(u32::MAX));
        w.u32(serial);
        w.array(8, |w| {
            let strings = [
                (PATH, "o", self.path),
                (INTERFACE, "s", self.interface),
                (MEMBER, "s", self.member),
                (ERROR_NAME, "s", self.error_name),
                (DESTINATION, "s", self.destination),
                (
                    SIGNATURE,
                    "g",
                    Some(signature.as_str()).filter(|s| !s.is_empty()),
                ),
            ];
            for (code, sig, value) in strings {
                if let Some(value) = value {
                    w.pad(8);
                    w.byte(code);
                    w.signature(sig);
                    match sig {
                        "o" => w.object_path(value),
                        "g" => w.signature(value),
                        _ => w.string(value),
                    }
                }
            }
            if let Some(serial) = self.reply_serial {
                w.pad(8);
                w.byte(REPLY_SERIAL);
                w.signature("u");
                w.u32(serial);
            }
        });
        w.pad(8);
        w.check(&body);
        if let Some(why) = w.bad {
            return Err(Error::Protocol(why));
        }
        w.buf.extend_from_slice(&body.buf);
        if w.buf.len() > MAX_MESSAGE {
            return Err(Error::Protocol(format!(
                "message of {} bytes: the limit is {MAX_MESSAGE}",
                w.buf.len()
            )));
        }
        Ok(w.buf)
    }
}

/// The D-Bus signature of a property value.
pub fn value_signature(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "b",
        Value::Str(_) => "s",
        Value::Byte(_) => "y",
        Value::I16(_) => "n",
        Value::U16(_) => "q",
        Value::I32(_) => "i",
        Value::U32(_) => "u",
        Value::I64(_) => "x",
        Value::U64(_) => "t",
        Value::Strs(_) => "as",
        Value::U32s(_) => "au",
        Value::Bytes(_) => "ay",
        Value::PathValues(_) => "a(st)",
    }
}

/// A growing buffer that pads as the spec says; the first value it could
/// not write (a NUL in a string, an array too long) is kept in `bad`.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    bad: Option<String>,
}

impl Writer {
    fn fail(&mut self, why: String) {
        self.bad.get_or_insert(why);
    }

    fn check(&mut self, other: &Writer) {
        if let Some(why) = &other.bad {
            self.fail(why.clone());
        }
    }

    fn pad(&mut self, align: usize) {
        while self.buf.len() % align != 0 {
            self.buf.push(0);
        }
    }

    fn byte(&mut self, v: u8) {
        self.buf.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.pad(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        if s.contains('\0') {
            self.fail(format!("string {s:?} contains a NUL byte"));
        }
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn object_path(&mut self, s: &str) {
        if !is_object_path(s) {
            self.fail(format!("{s:?} is not an object path"));
        }
        self.string(s);
    }

    fn signature(&mut self, s: &str) {
        let len = u8::try_from(s.len()).unwrap_or_else(|_| {
            self.fail(format!("signature {s:?} is longer than 255 bytes"));
            u8::MAX
        });
        self.buf.push(len);
        self.buf
            .extend_from_slice(&s.as_bytes()[..usize::from(len)]);
        self.buf.push(0);
    }

    /// An array: its length, padding to the element alignment (even when
    /// empty), then the elements `f` writes.
    fn array(&mut self, elem_align: usize, f: impl FnOnce(&mut Writer)) {
        self.pad(4);
        let at = self.buf.len();
        self.u32(0);
        self.pad(elem_align);
        let start = self.buf.len();
        f(self);
        let len = self.buf.len() - start;
        if len > MAX_ARRAY {
            self.fail(format!("array of {len} bytes: the limit is {MAX_ARRAY}"));
        }
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn arg(&mut self, arg: &Arg) {
        match arg {
            Arg::Str(s) => self.string(s),
            Arg::Path(p) => self.object_path(p),
            Arg::Bool(b) => self.u32(u32::from(*b)),
            Arg::U32(u) => self.u32(*u),
            Arg::Strs(list) => self.value(&Value::Strs(list.to_vec())),
            Arg::U32s(list) => self.array(4, |w| list.iter().for_each(|u| w.u32(*u))),
            Arg::Props(props) => self.props(props),
            Arg::NoAuxUnits => self.array(8, |_| {}),
            Arg::Variant(v) => self.variant(v),
        }
    }

    /// `a(sv)`
    fn props(&mut self, props: &[Property]) {
        self.array(8, |w| {
            for p in props {
                w.pad(8);
                w.string(&p.name);
                w.variant(&p.value);
            }
        });
    }

    fn variant(&mut self, v: &Value) {
        self.signature(value_signature(v));
        self.value(v);
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::Str(s) => self.string(s),
            Value::Byte(y) => self.byte(*y),
            Value::I16(n) => self.u16(*n as u16),
            Value::U16(q) => self.u16(*q),
            Value::I32(i) => self.u32(*i as u32),
            Value::U32(u) => self.u32(*u),
            Value::I64(x) => self.u64(*x as u64),
            Value::U64(t) => self.u64(*t),
            Value::Strs(list) => self.array(4, |w| list.iter().for_each(|s| w.string(s))),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|u| w.u32(*u))),
            Value::Bytes(bytes) => self.array(1, |w| w.buf.extend_from_slice(bytes)),
            Value::PathValues(list) => self.array(8, |w| {
                for (path, value) in list {
                    w.pad(8);
                    w.string(path);
                    w.u64(*value);
                }
            }),
        }
    }
}

/// "/" or "/a/b_c": elements of [A-Za-z0-9_], none empty.
pub fn is_object_path(s: &str) -> bool {
    s == "/"
        || (s.starts_with('/')
            && s[1..].split('/').all(|e| {
                !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hello as dbus-send writes it, laid out by hand from the spec.
    #[test]
    fn hello_bytes_by_hand() {
        let hello = Outgoing::call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            vec![],
        );
        let mut want: Vec<u8> = vec![b'l', 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0];
        let mut fields = Vec::new();
        let mut field = |code: u8, sig: u8, text: &str| {
            while fields.len() % 8 != 0 {
                fields.push(0);
            }
            fields.extend_from_slice(&[code, 1, sig, 0]);
            fields.extend_from_slice(&(text.len() as u32).to_le_bytes());
            fields.extend_from_slice(text.as_bytes());
            fields.push(0);
        };
        field(1, b'o', "/org/freedesktop/DBus");
        field(2, b's', "org.freedesktop.DBus");
        field(3, b's', "Hello");
        field(6, b's', "org.freedesktop.DBus");
        want.extend_from_slice(&(fields.len() as u32).to_le_bytes());
        want.extend_from_slice(&fields);
        while want.len() % 8 != 0 {
            want.push(0);
        }
        assert_eq!(hello.encode(1).unwrap(), want);
    }

    fn body(args: Vec<Arg>) -> Vec<u8> {
        let mut w = Writer::default();
        for a in &args {
            w.arg(a);
        }
        assert_eq!(w.bad, None);
        w.buf
    }

    #[test]
    fn values_aligned_in_variants() {
        let prop = |name: &str, value| Property::new(name, value, "f");
        // a(sv) with ("A", t 5): its length (24), padding to 8, "A", "t",
        // padding, the u64.
        let props = [prop("A", Value::U64(5))];
        assert_eq!(
            body(vec![Arg::Props(&props)]),
            [
                &[24, 0, 0, 0, 0, 0, 0, 0][..],
                &[1, 0, 0, 0, b'A', 0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 0],
                &5u64.to_le_bytes(),
            ]
            .concat()
        );
        // An empty a(st) still pads to 8 after its length.
        let props = [prop("B", Value::PathValues(vec![]))];
        assert_eq!(
            body(vec![Arg::Props(&props)]),
            [
                &[24, 0, 0, 0, 0, 0, 0, 0][..],
                &[1, 0, 0, 0, b'B', 0, 5, b'a', b'(', b's', b't', b')', 0, 0, 0, 0],
                // The a(st)'s length, then padding to 8 though it is empty.
                &[0, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat()
        );
        // s, b, ay, au after a byte-sized signature: each aligned on its own.
        assert_eq!(
            body(vec![
                Arg::Str("x"),
                Arg::Bool(true),
                Arg::Variant(&Value::Bytes(vec![7, 8])),
                Arg::U32s(&[9]),
                Arg::Variant(&Value::I16(-2)),
            ]),
            vec![
                1, 0, 0, 0, b'x', 0, 0, 0, // s
                1, 0, 0, 0, // b
                2, b'a', b'y', 0, 2, 0, 0, 0, 7, 8, 0, 0, // v ay
                4, 0, 0, 0, 9, 0, 0, 0, // au
                1, b'n', 0, 0, 0xfe, 0xff, // v n
            ]
        );
        assert_eq!(body(vec![Arg::NoAuxUnits]), vec![0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn bad_strings_are_refused_not_sent() {
        let msg = Outgoing::call("a.b", "/x", "a.b", "M", vec![Arg::Str("a\0b")]);
        let err = msg.encode(1).unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
        let msg = Outgoing::call("a.b", "/x/", "a.b", "M", vec![]);
        assert!(msg.encode(1).is_err());
        for (path, ok) in [
            ("/", true),
            ("/a/b_1", true),
            ("", false),
            ("/a//b", false),
            ("/a-b", false),
        ] {
            assert_eq!(is_object_path(path), ok, "{path}");
        }
    }
}
