//! Reading D-Bus messages (either byte order): the header fields a client
//! needs and a `Reader` for bodies. Every length and offset is checked
//! against the bytes there are, nesting is bounded, and bad bytes are an
//! `Error::Protocol`, never a panic.

use super::error::{Error, Result};
use super::marshal::{
    Kind, DESTINATION, ERROR_NAME, INTERFACE, MAX_ARRAY, MAX_MESSAGE, MEMBER, PATH, REPLY_SERIAL,
    SENDER, SIGNATURE,
};
use crate::cgroups::systemd::properties::Value;

/// The fixed part of a header: endianness, type, flags, version, body
/// length, serial, header fields' array length.
pub const FIXED_HEADER: usize = 16;
/// Deepest nesting of containers read (the spec allows 32 arrays and 32
/// structs).
const MAX_DEPTH: u32 = 64;

/// Unit properties as read: name and value.
pub type Props = Vec<(String, Value)>;

/// A received message; the body is read with `args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    /// The body's signature ("" for no body).
    pub signature: String,
    big_endian: bool,
    body: Vec<u8>,
}

impl Message {
    /// A reader of the body, which must have `signature`.
    pub fn args(&self, signature: &str) -> Result<Reader<'_>> {
        if self.signature != signature {
            return Err(Error::Protocol(format!(
                "{} has signature {:?}, expected {signature:?}",
                self.describe(),
                self.signature
            )));
        }
        Ok(Reader::new(&self.body, 0, self.big_endian))
    }

    /// An error reply as `Error::Method`: its name, and its text when the
    /// body starts with one.
    pub fn to_error(&self) -> Error {
        let mut message = String::new();
        if self.signature.starts_with('s') {
            if let Ok(text) = Reader::new(&self.body, 0, self.big_endian).string() {
                message = text;
            }
        }
        Error::Method {
            name: self.error_name.clone().unwrap_or_default(),
            message,
        }
    }

    /// "signal org.x.Iface.Member" and the like, for errors.
    pub fn describe(&self) -> String {
        let name = match self.kind {
            Kind::Call | Kind::Signal => format!(
                "{}.{}",
                self.interface.as_deref().unwrap_or(""),
                self.member.as_deref().unwrap_or("")
            ),
            Kind::Return => format!("reply to {}", self.reply_serial.unwrap_or(0)),
            Kind::Error => self.error_name.clone().unwrap_or_default(),
        };
        format!("{:?} {name}", self.kind)
    }
}

/// The whole length of the message whose first FIXED_HEADER bytes are
/// `head`: an error when they are not the start of a D-Bus message.
pub fn message_len(head: &[u8]) -> Result<usize> {
    let mut r = Reader::new(head, 0, false);
    r.big = match r.byte()? {
        b'l' => false,
        b'B' => true,
        other => return Err(bad(format!("endianness byte {other:#04x}"))),
    };
    r.pos = 4;
    let body = r.u32()? as usize;
    r.pos = 12;
    let fields = r.u32()? as usize;
    if fields > MAX_ARRAY || body > MAX_MESSAGE {
        return Err(bad(format!("lengths {fields} and {body} are too long")));
    }
    let total = (FIXED_HEADER + fields).next_multiple_of(8) + body;
    if total > MAX_MESSAGE {
        return Err(bad(format!("message of {total} bytes")));
    }
    Ok(total)
}

/// The message in `bytes` (exactly one, as `message_len` measured).
pub fn decode(bytes: &[u8]) -> Result<Message> {
    let total = message_len(bytes.get(..FIXED_HEADER).unwrap_or(bytes))?;
    if bytes.len() != total {
        return Err(bad(format!(
            "{} bytes for a message of {total}",
            bytes.len()
        )));
    }
    let big_endian = bytes[0] == b'B';
    let kind = match bytes[1] {
        1 => Kind::Call,
        2 => Kind::Return,
        3 => Kind::Error,
        4 => Kind::Signal,
        other => return Err(bad(format!("message type {other}"))),
    };
    if bytes[3] != 1 {
        return Err(bad(format!("protocol version {}", bytes[3])));
    }
    let mut r = Reader::new(bytes, 8, big_endian);
    let serial = r.u32()?;
    if serial == 0 {
        return Err(bad("serial 0".into()));
    }
    let mut m = Message {
        kind,
        serial,
        reply_serial: None,
        path: None,
        interface: None,
        member: None,
        error_name: None,
        destination: None,
        sender: None,
        signature: String::new(),
        big_endian,
        body: Vec::new(),
    };
    r.array(8, |r| header_field(r, &mut m))?;
    r.pad(8)?;
    m.body = bytes[r.pos..].to_vec();
    let required = match kind {
        Kind::Call => m.path.is_some() && m.member.is_some(),
        Kind::Return => m.reply_serial.is_some(),
        Kind::Error => m.reply_serial.is_some() && m.error_name.is_some(),
        Kind::Signal => m.path.is_some() && m.interface.is_some() && m.member.is_some(),
    };
    if !required {
        return Err(bad(format!("{kind:?} without its required header fields")));
    }
    Ok(m)
}

fn header_field(r: &mut Reader, m: &mut Message) -> Result<()> {
    r.pad(8)?;
    let code = r.byte()?;
    let sig = r.signature()?;
    let expected = match code {
        PATH => "o",
        INTERFACE | MEMBER | ERROR_NAME | DESTINATION | SENDER => "s",
        REPLY_SERIAL => "u",
        SIGNATURE => "g",
        // Unknown fields are skipped, as the spec says.
        _ => return r.skip(&sig),
    };
    if sig != expected {
        return Err(bad(format!("header field {code} has type {sig:?}")));
    }
    match code {
        PATH => m.path = Some(r.object_path()?),
        INTERFACE => m.interface = Some(r.string()?),
        MEMBER => m.member = Some(r.string()?),
        ERROR_NAME => m.error_name = Some(r.string()?),
        DESTINATION => m.destination = Some(r.string()?),
        SENDER => m.sender = Some(r.string()?),
        REPLY_SERIAL => m.reply_serial = Some(r.u32()?),
        _ => m.signature = r.signature()?,
    }
    Ok(())
}

fn bad(why: String) -> Error {
    Error::Protocol(why)
}

/// Reads values from `buf`; alignment counts from `buf`'s start.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
    depth: u32,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize, big: bool) -> Self {
        Reader {
            buf,
            pos,
            big,
            depth: 0,
        }
    }

    /// Whether every byte was read.
    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| {
            bad(format!(
                "{n} bytes at offset {} of {}",
                self.pos,
                self.buf.len()
            ))
        })?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn pad(&mut self, align: usize) -> Result<()> {
        let n = self.pos.next_multiple_of(align) - self.pos;
        if self.take(n)?.iter().any(|b| *b != 0) {
            return Err(bad(format!(
                "padding before offset {} is not zero",
                self.pos
            )));
        }
        Ok(())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.pad(N)?;
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        if self.big {
            out.reverse();
        }
        Ok(out)
    }

    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.fixed()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.fixed()?))
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(bad(format!("boolean {other}"))),
        }
    }

    fn text(&mut self, len: usize) -> Result<String> {
        let bytes = self.take(len)?;
        if self.byte()? != 0 {
            return Err(bad("a string without its NUL".into()));
        }
        match std::str::from_utf8(bytes) {
            Ok(s) if !s.contains('\0') => Ok(s.to_string()),
            _ => Err(bad(format!(
                "string {:?} is not UTF-8 without NUL",
                String::from_utf8_lossy(bytes)
            ))),
        }
    }

    pub fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        self.text(len)
    }

    pub fn object_path(&mut self) -> Result<String> {
        let path = self.string()?;
        if !super::marshal::is_object_path(&path) {
            return Err(bad(format!("{path:?} is not an object path")));
        }
        Ok(path)
    }

    pub fn signature(&mut self) -> Result<String> {
        let len = usize::from(self.byte()?);
        self.text(len)
    }

    /// An array whose elements (aligned to `elem_align`) `f` reads.
    pub fn array<T>(
        &mut self,
        elem_align: usize,
        mut f: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let len = self.u32()? as usize;
        if len > MAX_ARRAY {
            return Err(bad(format!("array of {len} bytes")));
        }
        self.pad(elem_align)?;
        let end = self.pos + len;
        if end > self.buf.len() {
            return Err(bad(format!("array of {len} bytes past the end")));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(bad("containers nested too deep".into()));
        }
        let mut out = Vec::new();
        while self.pos < end {
            out.push(f(self)?);
        }
        self.depth -= 1;
        if self.pos != end {
            return Err(bad(format!("array element past the array's {len} bytes")));
        }
        Ok(out)
    }

    /// A value of one of the property types, by its signature.
    pub fn value(&mut self, sig: &str) -> Result<Value> {
        Ok(match sig {
            "b" => Value::Bool(self.bool()?),
            "s" => Value::Str(self.string()?),
            "y" => Value::Byte(self.byte()?),
            "n" => Value::I16(self.u16()? as i16),
            "q" => Value::U16(self.u16()?),
            "i" => Value::I32(self.u32()? as i32),
            "u" => Value::U32(self.u32()?),
            "x" => Value::I64(self.u64()? as i64),
            "t" => Value::U64(self.u64()?),
            "as" => Value::Strs(self.array(4, Self::string)?),
            "au" => Value::U32s(self.array(4, Self::u32)?),
            "ay" => Value::Bytes(self.array(1, Self::byte)?),
            "a(st)" => Value::PathValues(self.array(8, |r| {
                r.pad(8)?;
                Ok((r.string()?, r.u64()?))
            })?),
            other => return Err(bad(format!("a value of type {other:?}"))),
        })
    }

    /// `v` holding one of the property types.
    pub fn variant(&mut self) -> Result<Value> {
        let sig = self.signature()?;
        self.value(&sig)
    }

    /// `a(sv)`: unit properties by name.
    pub fn props(&mut self) -> Result<Props> {
        self.array(8, |r| {
            r.pad(8)?;
            Ok((r.string()?, r.variant()?))
        })
    }

    /// `a(sa(sv))`: auxiliary units and their properties.
    pub fn aux_units(&mut self) -> Result<Vec<(String, Props)>> {
        self.array(8, |r| {
            r.pad(8)?;
            Ok((r.string()?, r.props()?))
        })
    }

    /// Skip one value of any complete type `sig` (unknown header fields).
    fn skip(&mut self, sig: &str) -> Result<()> {
        let sig = sig.as_bytes();
        if first_type_len(sig, 0)? != sig.len() {
            return Err(bad(format!("{sig:?} is not a single complete type")));
        }
        self.skip_one(sig)
    }

    /// Skip a value of `ty`, a single complete type.
    fn skip_one(&mut self, ty: &[u8]) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(bad("containers nested too deep".into()));
        }
        match ty[0] {
            b'y' => drop(self.byte()?),
            b'n' | b'q' => drop(self.u16()?),
            b'b' | b'i' | b'u' | b'h' => drop(self.u32()?),
            b'x' | b't' | b'd' => drop(self.u64()?),
            b's' | b'o' => drop(self.string()?),
            b'g' => drop(self.signature()?),
            b'v' => {
                let inner = self.signature()?;
                self.skip(&inner)?;
            }
            b'a' => drop(self.array(alignment(ty[1]), |r| r.skip_one(&ty[1..]))?),
            _ => {
                // A struct or dict entry: its fields in order.
                self.pad(8)?;
                let mut fields = &ty[1..ty.len() - 1];
                while !fields.is_empty() {
                    let n = first_type_len(fields, self.depth)?;
                    self.skip_one(&fields[..n])?;
                    fields = &fields[n..];
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

/// The length of the first complete type in `sig`.
fn first_type_len(sig: &[u8], depth: u32) -> Result<usize> {
    if depth > MAX_DEPTH {
        return Err(bad("a signature nested too deep".into()));
    }
    let ends_early = || {
        bad(format!(
            "signature {:?} ends early",
            String::from_utf8_lossy(sig)
        ))
    };
    match *sig.first().ok_or_else(ends_early)? {
        b'y' | b'n' | b'q' | b'b' | b'i' | b'u' | b'h' | b'x' | b't' | b'd' | b's' | b'o'
        | b'g' | b'v' => Ok(1),
        b'a' => Ok(1 + first_type_len(&sig[1..], depth + 1)?),
        open @ (b'(' | b'{') => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut at = 1;
            while sig.get(at) != Some(&close) {
                if at >= sig.len() {
                    return Err(ends_early());
                }
                at += first_type_len(&sig[at..], depth + 1)?;
            }
            if at == 1 {
                return Err(bad("an empty struct".into()));
            }
            Ok(at + 1)
        }
        other => Err(bad(format!("type code {:?}", char::from(other)))),
    }
}

fn alignment(code: u8) -> usize {
    match code {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b'h' | b's' | b'o' | b'a' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 1,
    }
}
