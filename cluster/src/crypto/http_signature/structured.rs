//! The subset of RFC 8941 structured fields that HTTP message signatures use: dictionaries
//! whose members are items or inner lists, with parameters; bare items are integers,
//! strings, tokens, byte sequences and booleans. Strict (a malformed field is an error, never
//! a guess) and bounded (no recursion beyond one inner list, input length capped).

/// Longest field value parsed (bytes).
pub const MAX_FIELD_LEN: usize = 8192;

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    String(String),
    Token(String),
    /// The text between the colons, as sent (base64, standard or URL-safe).
    Bytes(String),
    Boolean(bool),
}

/// An item's parameters, in order.
pub type Params = Vec<(String, BareItem)>;

/// A dictionary member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(BareItem, Params),
    InnerList(Vec<(BareItem, Params)>, Params),
}

/// Why a field could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

type Parsed<T> = Result<T, ParseError>;

fn fail<T>(why: impl Into<String>) -> Parsed<T> {
    Err(ParseError(why.into()))
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn key(&mut self) -> Parsed<String> {
        let start = self.at;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.at += 1,
            _ => return fail("a key must start with a lowercase letter or '*'"),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.at += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn bare_item(&mut self) -> Parsed<BareItem> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.at += 1;
                match self.peek() {
                    Some(b'1') => {
                        self.at += 1;
                        Ok(BareItem::Boolean(true))
                    }
                    Some(b'0') => {
                        self.at += 1;
                        Ok(BareItem::Boolean(false))
                    }
                    _ => fail("a boolean is ?0 or ?1"),
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.integer(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => self.token(),
            _ => fail("expected an item"),
        }
    }

    fn integer(&mut self) -> Parsed<BareItem> {
        let negative = self.eat(b'-');
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if digits.is_empty() || digits.len() > 15 {
            return fail("an integer has 1 to 15 digits");
        }
        if self.peek() == Some(b'.') {
            return fail("decimals are not accepted here");
        }
        let value: i64 = String::from_utf8_lossy(digits)
            .parse()
            .map_err(|_| ParseError("bad integer".into()))?;
        Ok(BareItem::Integer(if negative { -value } else { value }))
    }

    fn string(&mut self) -> Parsed<BareItem> {
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return fail("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c as char);
                            self.at += 1;
                        }
                        _ => return fail("bad escape in string"),
                    }
                }
                Some(c) if (0x20..0x7f).contains(&c) => {
                    out.push(c as char);
                    self.at += 1;
                }
                Some(_) => return fail("strings hold printable ASCII only"),
            }
        }
    }

    fn token(&mut self) -> Parsed<BareItem> {
        let start = self.at;
        self.at += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.at += 1;
            } else {
                break;
            }
        }
        Ok(BareItem::Token(
            String::from_utf8_lossy(&self.text[start..self.at]).into_owned(),
        ))
    }

    fn bytes(&mut self) -> Parsed<BareItem> {
        self.at += 1;
        let start = self.at;
        while let Some(c) = self.peek() {
            if c == b':' {
                let inner = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                self.at += 1;
                return Ok(BareItem::Bytes(inner));
            }
            if c.is_ascii_alphanumeric() || b"+/=-_".contains(&c) {
                self.at += 1;
            } else {
                return fail("bad character in a byte sequence");
            }
        }
        fail("unterminated byte sequence")
    }

    fn params(&mut self) -> Parsed<Params> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_spaces();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            params.retain(|(k, _)| *k != key);
            params.push((key, value));
        }
        Ok(params)
    }

    fn inner_list(&mut self) -> Parsed<Member> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            if items.len() >= 64 {
                return fail("too many items in an inner list");
            }
            let item = self.bare_item()?;
            let params = self.params()?;
            items.push((item, params));
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return fail("inner list items are separated by spaces"),
            }
        }
    }
}

/// Parses a dictionary field; a repeated key keeps its last value (RFC 8941 §4.2.2).
pub fn parse_dictionary(text: &str) -> Parsed<Vec<(String, Member)>> {
    if text.len() > MAX_FIELD_LEN {
        return fail("field too long");
    }
    let mut cursor = Cursor {
        text: text.as_bytes(),
        at: 0,
    };
    let mut members: Vec<(String, Member)> = Vec::new();
    cursor.skip_spaces();
    while cursor.peek().is_some() {
        let key = cursor.key()?;
        let member = if cursor.eat(b'=') {
            if cursor.peek() == Some(b'(') {
                cursor.inner_list()?
            } else {
                let item = cursor.bare_item()?;
                Member::Item(item, cursor.params()?)
            }
        } else {
            Member::Item(BareItem::Boolean(true), cursor.params()?)
        };
        members.retain(|(k, _)| *k != key);
        members.push((key, member));
        if members.len() > 32 {
            return fail("too many members");
        }
        cursor.skip_ows();
        if cursor.peek().is_none() {
            break;
        }
        if !cursor.eat(b',') {
            return fail("dictionary members are separated by commas");
        }
        cursor.skip_ows();
        if cursor.peek().is_none() {
            return fail("trailing comma");
        }
    }
    Ok(members)
}

/// RFC 8941 serialization of a bare item.
pub fn serialize_item(item: &BareItem) -> String {
    match item {
        BareItem::Integer(i) => i.to_string(),
        BareItem::String(s) => {
            let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\"")
        }
        BareItem::Token(t) => t.clone(),
        BareItem::Bytes(b) => format!(":{b}:"),
        BareItem::Boolean(true) => "?1".into(),
        BareItem::Boolean(false) => "?0".into(),
    }
}

/// RFC 8941 serialization of parameters (`;key=value`, `;key` for true).
pub fn serialize_params(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            BareItem::Boolean(true) => format!(";{k}"),
            other => format!(";{k}={}", serialize_item(other)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_signature_input() {
        let text = r#"sig1=("@method" "@authority" "@path" "signature-key" "content-digest" "content-type" "authorization");created=1700000000;nonce="abcDEF0123456789xyzAB_""#;
        let dict = parse_dictionary(text).expect("parses");
        let (key, Member::InnerList(items, params)) = &dict[0] else {
            panic!("inner list expected");
        };
        assert_eq!(key, "sig1");
        assert_eq!(items.len(), 7);
        assert_eq!(items[0].0, BareItem::String("@method".into()));
        assert_eq!(
            params[0],
            ("created".into(), BareItem::Integer(1_700_000_000))
        );
        assert_eq!(
            serialize_params(params),
            r#";created=1700000000;nonce="abcDEF0123456789xyzAB_""#
        );
    }

    #[test]
    fn refuses_malformed_fields() {
        for bad in [
            "sig1=(\"@method\"",
            "sig1=:abc",
            "Sig1=:abc:",
            "sig1=\"unterminated",
            "sig1=1.5",
            "sig1=(\"a\"\"b\")",
            "a=1,",
            "a=1 b=2",
            "sig1=:a b:",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn byte_sequences_keep_either_alphabet() {
        let dict = parse_dictionary("sig1=:ab-_+/==:, sha-256=:x:").expect("parses");
        assert_eq!(
            dict[0].1,
            Member::Item(BareItem::Bytes("ab-_+/==".into()), Vec::new())
        );
        assert_eq!(dict[1].0, "sha-256");
    }
}
