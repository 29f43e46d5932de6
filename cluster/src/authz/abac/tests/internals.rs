//! CIDR and timestamp helpers.

use std::net::IpAddr;

use super::super::cidr::Cidr;
use super::super::timestamp::{parse_rfc3339, parse_time_of_day};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn cidr_parsing() {
    for good in [
        "10.0.0.0/8",
        "0.0.0.0/0",
        "1.2.3.4/32",
        "1.2.3.4",
        "::/0",
        "2001:db8::/32",
        "::1/128",
        "::1",
    ] {
        assert!(Cidr::parse(good).is_some(), "{good}");
    }
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0/8",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0.0/08x",
        "abc",
        "",
        "/8",
        "10.0.0.0/8/8",
        "10.0.0.0/0008",
    ] {
        assert!(Cidr::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn cidr_matching() {
    let net = Cidr::parse("10.0.0.5/8").unwrap();
    assert!(net.contains(ip("10.255.255.255")));
    assert!(!net.contains(ip("11.0.0.0")));
    assert!(
        Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("255.255.255.255"))
    );
    assert!(Cidr::parse("1.2.3.4").unwrap().contains(ip("1.2.3.4")));
    assert!(!Cidr::parse("1.2.3.4").unwrap().contains(ip("1.2.3.5")));
    let v6 = Cidr::parse("2001:db8:abcd::/48").unwrap();
    assert!(v6.contains(ip("2001:db8:abcd:1::1")));
    assert!(!v6.contains(ip("2001:db8:abce::1")));
    assert!(Cidr::parse("::/0").unwrap().contains(ip("::1")));
    assert!(
        Cidr::parse("::ffff:0:0/96")
            .unwrap()
            .contains(ip("1.2.3.4"))
    );
    assert!(
        Cidr::parse("1.2.3.0/24")
            .unwrap()
            .contains(ip("::ffff:1.2.3.9"))
    );
    assert!(
        !Cidr::parse("1.2.3.0/24")
            .unwrap()
            .contains(ip("2001:db8::1"))
    );
}

#[test]
fn rfc3339_parsing() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
    assert_eq!(
        parse_rfc3339("2000-03-01T00:00:00Z"),
        Some((951_868_800, 0))
    );
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some((-1, 0)));
    assert_eq!(parse_rfc3339("1970-01-01T02:00:00+02:00"), Some((0, 0)));
    assert_eq!(
        parse_rfc3339("1970-01-01t00:00:00.25z"),
        Some((0, 250_000_000))
    );
    assert_eq!(
        parse_rfc3339("1970-01-01T00:00:00.1234567891Z"),
        Some((0, 123_456_789))
    );
    assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
    for bad in [
        "2023-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00+0200",
        "2024-01-01T00:00:00Zx",
        "2024-1-01T00:00:00Z",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn time_of_day_parsing() {
    assert_eq!(parse_time_of_day("00:00"), Some(0));
    assert_eq!(parse_time_of_day("23:59:59"), Some(86_399));
    for bad in ["24:00", "9:00", "09:60", "09:00:60", "09-00", "09:00:0"] {
        assert_eq!(parse_time_of_day(bad), None, "{bad}");
    }
}
