//! The SCIM filter grammar (RFC 7644 section 3.4.2.2) as a real parser, and its evaluation
//! against a resource's JSON. Precedence: `not` over `and` over `or`; parentheses group;
//! `attr[filter]` filters a multi-valued attribute's elements. Attribute names compare without
//! case; string values compare without case except the case-exact attributes (`id`,
//! `externalId`, `meta.version`). Input length and nesting are bounded, so any input ends in
//! bounded time.

use std::cmp::Ordering;

use serde_json::Value;

/// Longest filter accepted.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and value paths.
const MAX_DEPTH: usize = 32;

/// An attribute path: `[urn:…:]attr[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `urn:…:attr.sub`, `attr.sub` or `attr`.
    pub fn parse(text: &str) -> Option<AttrPath> {
        let (schema, rest) = if text.to_ascii_lowercase().starts_with("urn:") {
            let cut = text.rfind(':')?;
            (Some(text[..cut].to_string()), &text[cut + 1..])
        } else {
            (None, text)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let valid = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !valid(attr) || sub.is_some_and(|s| !valid(s)) {
            return None;
        }
        Some(AttrPath {
            schema,
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of `attr` matches the inner filter.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Value(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '[' => {
                tokens.push(Token::OpenBracket);
                i += 1;
            }
            ']' => {
                tokens.push(Token::CloseBracket);
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("a string is not closed".into());
                }
                i += 1;
                let literal: String = chars[start..i].iter().collect();
                let value: Value = serde_json::from_str(&literal)
                    .map_err(|_| format!("{literal} is not a valid string"))?;
                tokens.push(Token::Value(value));
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r()[]\"".contains(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the filter nests deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.keyword("not") {
            self.at += 1;
            self.enter()?;
            if self.peek() != Some(&Token::Open) {
                return Err("not must be followed by a parenthesized filter".into());
            }
            self.at += 1;
            let inner = self.or()?;
            self.expect(&Token::Close, ")")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(&Token::Close, ")")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attribute_expression()
    }

    fn expect(&mut self, token: &Token, text: &str) -> Result<(), String> {
        if self.peek() == Some(token) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {text}"))
        }
    }

    fn attribute_expression(&mut self) -> Result<Filter, String> {
        let Some(Token::Word(word)) = self.peek().cloned() else {
            return Err("expected an attribute name".into());
        };
        self.at += 1;
        if self.peek() == Some(&Token::OpenBracket) {
            let path =
                AttrPath::parse(&word).ok_or_else(|| format!("{word} is not an attribute path"))?;
            if path.sub.is_some() {
                return Err(format!("{word}[…]: a value filter applies to an attribute"));
            }
            self.at += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(&Token::CloseBracket, "]")?;
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let path =
            AttrPath::parse(&word).ok_or_else(|| format!("{word} is not an attribute path"))?;
        let Some(Token::Word(op)) = self.peek().cloned() else {
            return Err(format!("expected an operator after {word}"));
        };
        self.at += 1;
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op).ok_or_else(|| format!("{op} is not an operator"))?;
        let value = match self.peek().cloned() {
            Some(Token::Value(v)) => v,
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                number => serde_json::from_str::<serde_json::Number>(number)
                    .map(Value::Number)
                    .map_err(|_| format!("{number} is not a value (quote strings)"))?,
            },
            _ => return Err(format!("expected a value after {word}")),
        };
        self.at += 1;
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a filter.
pub fn parse(text: &str) -> Result<Filter, String> {
    if text.len() > MAX_LEN {
        return Err(format!("the filter is longer than {MAX_LEN} characters"));
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the filter is empty".into());
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let filter = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err("unexpected text after the filter".into());
    }
    Ok(filter)
}

/// The member of `object` named `name`, without case.
pub fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The attribute a path names: in the core object, or in the named extension's; an
/// unqualified name missing from the core is looked up in the extensions.
fn attribute<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match &path.schema {
        Some(schema) if !is_core(schema) => member(member(resource, schema)?, &path.attr),
        Some(_) => member(resource, &path.attr),
        None => member(resource, &path.attr).or_else(|| {
            resource.as_object()?.iter().find_map(|(k, v)| {
                (k.to_ascii_lowercase().starts_with("urn:") && v.is_object())
                    .then(|| member(v, &path.attr))
                    .flatten()
            })
        }),
    }
}

/// The values a path names in `resource` (multi-valued attributes give every element).
pub fn values(resource: &Value, path: &AttrPath) -> Vec<Value> {
    let Some(value) = attribute(resource, path) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        Some(sub) => items
            .into_iter()
            .filter_map(|item| member(item, sub).cloned())
            .collect(),
        // A multi-valued complex attribute compares by its `value`.
        None => items
            .into_iter()
            .map(|item| match item {
                Value::Object(_) => member(item, "value").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            })
            .collect(),
    }
}

fn is_core(schema: &str) -> bool {
    schema
        .to_ascii_lowercase()
        .starts_with("urn:ietf:params:scim:schemas:core:2.0:")
}

fn case_exact(path: &AttrPath) -> bool {
    let attr = path.attr.to_ascii_lowercase();
    attr == "id"
        || attr == "externalid"
        || (attr == "meta"
            && path
                .sub
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("version")))
}

fn compare(left: &Value, right: &Value, exact: bool) -> Option<Ordering> {
    match (left, right) {
        (Value::String(a), Value::String(b)) if exact => Some(a.cmp(b)),
        (Value::String(a), Value::String(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn matches_one(candidate: &Value, op: CompareOp, expected: &Value, exact: bool) -> bool {
    let text = |v: &Value| {
        v.as_str().map(|s| {
            if exact {
                s.to_string()
            } else {
                s.to_lowercase()
            }
        })
    };
    match op {
        CompareOp::Eq => compare(candidate, expected, exact) == Some(Ordering::Equal),
        CompareOp::Ne => compare(candidate, expected, exact) != Some(Ordering::Equal),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match (text(candidate), text(expected)) {
            (Some(have), Some(want)) => match op {
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                _ => have.ends_with(&want),
            },
            _ => false,
        },
        CompareOp::Gt => compare(candidate, expected, exact) == Some(Ordering::Greater),
        CompareOp::Ge => matches!(
            compare(candidate, expected, exact),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        CompareOp::Lt => compare(candidate, expected, exact) == Some(Ordering::Less),
        CompareOp::Le => matches!(
            compare(candidate, expected, exact),
            Some(Ordering::Less | Ordering::Equal)
        ),
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// True when `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Present(path) => values(resource, path).iter().any(present),
        Filter::Compare(path, op, expected) => {
            let found = values(resource, path);
            let exact = case_exact(path);
            if expected.is_null() {
                let any = found.iter().any(present);
                return match op {
                    CompareOp::Eq => !any,
                    CompareOp::Ne => any,
                    _ => false,
                };
            }
            if *op == CompareOp::Ne {
                return !found
                    .iter()
                    .any(|c| matches_one(c, CompareOp::Eq, expected, exact));
            }
            found.iter().any(|c| matches_one(c, *op, expected, exact))
        }
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::ValuePath(path, inner) => elements(resource, path)
            .iter()
            .any(|element| matches(inner, element)),
    }
}

/// The elements of a multi-valued attribute (a single value counts as one).
pub fn elements(resource: &Value, path: &AttrPath) -> Vec<Value> {
    match attribute(resource, path) {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "Bjensen@example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "active": true,
            "meta": {"lastModified": "2011-05-13T04:42:34Z", "version": "W/\"a\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "26118915"}}
        })
    }

    fn check(text: &str) -> bool {
        matches(
            &parse(text).unwrap_or_else(|e| panic!("{text}: {e}")),
            &user(),
        )
    }

    #[test]
    fn the_rfc_examples_parse_and_match() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"name.familyName co "ens""#));
        assert!(check(r#"userName sw "B""#));
        assert!(check(r#"emails pr"#));
        assert!(!check(r#"title pr"#));
        assert!(check(
            r#"meta.lastModified gt "2011-05-13T04:42:34Z" or active eq true"#
        ));
        assert!(check(
            r#"emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(!check(
            r#"emails[type eq "work" and value co "@jensen.org"]"#
        ));
        assert!(check(
            r#"not (userName eq "x") and (emails.type eq "home" or active eq false)"#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#
        ));
        assert!(check(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
        assert!(!check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        assert!(check(r#"title eq null"#));
        assert!(check(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // true or (false and false) == true; (true or false) and false would be false.
        assert!(check(
            r#"active eq true or userName eq "x" and userName eq "y""#
        ));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for text in [
            "",
            "userName",
            "userName eq",
            "userName zz \"x\"",
            "userName eq x",
            "(userName eq \"x\"",
            "userName eq \"x\")",
            "emails[type eq \"work\"",
            "not userName eq \"x\"",
            "userName eq \"unterminated",
            "1abc eq \"x\"",
            "userName eq \"x\" and",
        ] {
            assert!(parse(text).is_err(), "{text} parsed");
        }
        let deep = format!("{}active eq true{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
        assert!(parse(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet = [
            '(', ')', '[', ']', '"', ' ', 'a', 'e', 'q', 'n', 'o', 't', '.', ':', '\\', '1',
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for i in 0..len {
                let pick = ((seed >> (i % 60)) as usize + i) % alphabet.len();
                text.push(alphabet[pick]);
            }
            if let Ok(filter) = parse(&text) {
                let _ = matches(&filter, &user());
            }
        }
    }
}
