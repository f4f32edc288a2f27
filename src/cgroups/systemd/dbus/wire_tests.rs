//! Messages written by `marshal` read back by `unmarshal`, messages in the
//! other byte order and with header fields we do not know, and bytes that
//! are not D-Bus at all: an error, never a panic.

use super::error::Error;
use super::marshal::{Arg, Kind, Outgoing};
use super::unmarshal::{decode, message_len, Message};
use crate::cgroups::systemd::properties::{Property, Value};

fn every_value() -> Vec<Property> {
    let values = [
        Value::Bool(true),
        Value::Str("hull container".into()),
        Value::Byte(0xfe),
        Value::I16(-3),
        Value::U16(65000),
        Value::I32(-70000),
        Value::U32(4_000_000_000),
        Value::I64(-1 << 40),
        Value::U64(u64::MAX),
        Value::Strs(vec!["a.slice".into(), "".into(), "b".into()]),
        Value::U32s(vec![1, 2, 4_294_967_295]),
        Value::Bytes(vec![0b0000_0111, 0, 2]),
        Value::Bytes(vec![]),
        Value::PathValues(vec![
            ("/dev/block/8:0".into(), 1_048_576),
            ("/dev/sdb".into(), 5),
        ]),
        Value::PathValues(vec![]),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| Property::new(&format!("P{i}"), v, "test"))
        .collect()
}

fn start_transient_unit(props: &[Property]) -> Vec<u8> {
    Outgoing::call(
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "StartTransientUnit",
        vec![
            Arg::Str("hull-x.scope"),
            Arg::Str("replace"),
            Arg::Props(props),
            Arg::NoAuxUnits,
        ],
    )
    .encode(7)
    .unwrap()
}

#[test]
fn start_transient_unit_round_trips() {
    let props = every_value();
    let bytes = start_transient_unit(&props);
    assert_eq!(message_len(&bytes[..16]).unwrap(), bytes.len());
    let m = decode(&bytes).unwrap();
    assert_eq!(m.kind, Kind::Call);
    assert_eq!(m.serial, 7);
    assert_eq!(m.path.as_deref(), Some("/org/freedesktop/systemd1"));
    assert_eq!(
        m.interface.as_deref(),
        Some("org.freedesktop.systemd1.Manager")
    );
    assert_eq!(m.member.as_deref(), Some("StartTransientUnit"));
    assert_eq!(m.destination.as_deref(), Some("org.freedesktop.systemd1"));
    let mut r = m.args("ssa(sv)a(sa(sv))").unwrap();
    assert_eq!(r.string().unwrap(), "hull-x.scope");
    assert_eq!(r.string().unwrap(), "replace");
    let got = r.props().unwrap();
    let sent: Vec<_> = props.into_iter().map(|p| (p.name, p.value)).collect();
    assert_eq!(got, sent);
    assert_eq!(r.aux_units().unwrap(), vec![]);
    assert!(r.at_end());
    let err = m.args("ss").unwrap_err().to_string();
    assert!(err.contains("StartTransientUnit"), "{err}");
}

#[test]
fn replies_errors_and_signals_round_trip() {
    let reply = Outgoing::reply(7, Some(":1.5"), vec![Arg::Path("/org/x/job/42")]);
    let m = decode(&reply.encode(3).unwrap()).unwrap();
    assert_eq!((m.kind, m.reply_serial), (Kind::Return, Some(7)));
    assert_eq!(m.destination.as_deref(), Some(":1.5"));
    assert_eq!(m.args("o").unwrap().object_path().unwrap(), "/org/x/job/42");

    let error = Outgoing::error(7, None, "org.freedesktop.systemd1.UnitExists", "exists");
    let m = decode(&error.encode(4).unwrap()).unwrap();
    assert_eq!(
        m.to_error(),
        Error::Method {
            name: "org.freedesktop.systemd1.UnitExists".into(),
            message: "exists".into()
        }
    );

    let args = vec![
        Arg::U32(42),
        Arg::Path("/org/x/job/42"),
        Arg::Str("hull-x.scope"),
        Arg::Str("done"),
    ];
    let signal = Outgoing::signal("/org/x", "org.x.Manager", "JobRemoved", args);
    let m = decode(&signal.encode(5).unwrap()).unwrap();
    assert_eq!(m.kind, Kind::Signal);
    let mut r = m.args("uoss").unwrap();
    assert_eq!(r.u32().unwrap(), 42);
    assert_eq!(r.object_path().unwrap(), "/org/x/job/42");
    assert_eq!(r.string().unwrap(), "hull-x.scope");
    assert_eq!(r.string().unwrap(), "done");

    for v in [
        Value::U64(9),
        Value::Str("252".into()),
        Value::Bool(false),
        Value::Strs(vec!["x".into()]),
    ] {
        let reply = Outgoing::reply(1, None, vec![Arg::Variant(&v)]);
        let m = decode(&reply.encode(2).unwrap()).unwrap();
        assert_eq!(m.args("v").unwrap().variant().unwrap(), v);
    }
}

/// A big-endian method return (reply to 9, body `u` 258, with a sender
/// and an unknown header field 200 holding `a{sv}`), laid out by hand.
fn big_endian_reply() -> Vec<u8> {
    let mut fields: Vec<u8> = vec![5, 1, b'u', 0, 0, 0, 0, 9]; // REPLY_SERIAL
    fields.extend_from_slice(&[8, 1, b'g', 0, 1, b'u', 0, 0]); // SIGNATURE
    fields.extend_from_slice(&[7, 1, b's', 0, 0, 0, 0, 4]); // SENDER
    fields.extend_from_slice(b":1.2\0\0\0\0");
    // 200: v of a{sv} with {"k": v y 1}: 5 + sig, pad, length, pad, entry.
    fields.extend_from_slice(&[200, 5, b'a', b'{', b's', b'v', b'}', 0]);
    fields.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 0]); // length 10, pad
    fields.extend_from_slice(&[0, 0, 0, 1, b'k', 0, 1, b'y', 0, 1]);
    let mut m = vec![b'B', 2, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1];
    m.extend_from_slice(&(fields.len() as u32).to_be_bytes());
    m.extend_from_slice(&fields);
    while m.len() % 8 != 0 {
        m.push(0);
    }
    m.extend_from_slice(&258u32.to_be_bytes());
    m
}

#[test]
fn big_endian_and_unknown_fields() {
    let m = decode(&big_endian_reply()).unwrap();
    assert_eq!(
        (m.kind, m.serial, m.reply_serial),
        (Kind::Return, 1, Some(9))
    );
    assert_eq!(m.sender.as_deref(), Some(":1.2"));
    assert_eq!(m.args("u").unwrap().u32().unwrap(), 258);
}

/// A small deterministic generator, so a failure reproduces.
fn lcg(seed: &mut u64) -> u8 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*seed >> 33) as u8
}

/// Everything a client reads from a message, none of it may panic.
fn read_all(bytes: &[u8]) -> Option<Message> {
    let _ = message_len(bytes);
    let m = decode(bytes).ok()?;
    let _ = m.to_error();
    for sig in ["ssa(sv)a(sa(sv))", "uoss", "v", "o", "s", "u"] {
        if let Ok(mut r) = m.args(&m.signature.clone()) {
            let _ = match sig {
                "ssa(sv)a(sa(sv))" => r
                    .string()
                    .and_then(|_| r.string())
                    .and_then(|_| r.props())
                    .and_then(|_| r.aux_units())
                    .map(drop),
                "uoss" => r.u32().and_then(|_| r.object_path()).map(drop),
                "v" => r.variant().map(drop),
                "o" => r.object_path().map(drop),
                _ => r.string().map(drop),
            };
        }
    }
    Some(m)
}

#[test]
fn truncated_and_mutated_messages_are_errors_not_panics() {
    let valid = [start_transient_unit(&every_value()), big_endian_reply()];
    for bytes in &valid {
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut seed = 1;
        for at in 0..bytes.len() {
            for value in [0, 1, 0x7f, 0x80, 0xff, lcg(&mut seed)] {
                let mut mutated = bytes.clone();
                mutated[at] = value;
                read_all(&mutated);
            }
        }
    }
}

#[test]
fn random_bytes_are_errors_not_panics() {
    let mut seed = 42;
    for round in 0..20_000 {
        let len = usize::from(lcg(&mut seed)) % 96;
        let mut bytes: Vec<u8> = (0..len).map(|_| lcg(&mut seed)).collect();
        // Half the time a plausible start, so the header fields get read.
        if round % 2 == 0 && bytes.len() >= 16 {
            bytes[..4].copy_from_slice(&[b'l', 1 + round as u8 % 4, 0, 1]);
            bytes[4..8].copy_from_slice(&[0; 4]);
            let fields = (len - 16) as u32;
            bytes[12..16].copy_from_slice(&fields.to_le_bytes());
        }
        read_all(&bytes);
    }
    // Lengths near the limits ask for no memory up front.
    let mut huge = vec![b'l', 2, 0, 1, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    assert!(message_len(&huge).is_err());
}
