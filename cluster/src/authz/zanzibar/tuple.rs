//! Object, subject and tuple references with their string forms.
//!
//! - object: `document:1`
//! - subject: `user:bob`, `team:eng#member` (userset) or `user:*` (wildcard)
//! - tuple: `document:1#viewer@user:bob`, `document:1#viewer@team:eng#member`

use std::fmt;
use std::str::FromStr;

use super::ZanzibarError;
use super::names::{
    is_valid_object_id, is_valid_relation_name, is_valid_subject_id, is_valid_type_name,
};

/// An object: `type:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Object type, e.g. `document`.
    pub object_type: String,
    /// Object id, e.g. `1`.
    pub object_id: String,
}

/// A subject: a concrete object, a userset (`team:eng#member`) or a wildcard (`user:*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef {
    /// Subject type, e.g. `user`.
    pub subject_type: String,
    /// Subject id, or `*` for a wildcard.
    pub subject_id: String,
    /// Relation for userset subjects (`member` in `team:eng#member`).
    pub relation: Option<String>,
}

/// A relationship tuple: `object#relation@subject`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    /// The resource.
    pub object: ObjectRef,
    /// The relation on the resource.
    pub relation: String,
    /// Who or what is related.
    pub subject: SubjectRef,
}

fn malformed(input: &str, why: &str) -> ZanzibarError {
    ZanzibarError::MalformedTuple(format!("`{}`: {why}", input.escape_debug()))
}

fn check_chars(input: &str) -> Result<(), ZanzibarError> {
    if input.is_empty() {
        return Err(malformed(input, "empty input"));
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(malformed(
            input,
            "contains whitespace or control characters",
        ));
    }
    Ok(())
}

fn check_type(input: &str, t: &str, what: &str) -> Result<(), ZanzibarError> {
    if t.is_empty() {
        return Err(malformed(input, &format!("empty {what} type")));
    }
    if !is_valid_type_name(t) {
        return Err(malformed(
            input,
            &format!(
                "invalid {what} type `{t}` (expected [a-z][a-z0-9_]{{0,63}}, optionally `ns/`-prefixed)"
            ),
        ));
    }
    Ok(())
}

fn check_relation(input: &str, r: &str, what: &str) -> Result<(), ZanzibarError> {
    if r.is_empty() {
        return Err(malformed(input, &format!("empty {what}")));
    }
    if !is_valid_relation_name(r) {
        return Err(malformed(
            input,
            &format!("invalid {what} `{r}` (expected [a-z][a-z0-9_]{{0,63}})"),
        ));
    }
    Ok(())
}

impl ObjectRef {
    /// Builds an object reference without validation.
    pub fn new(object_type: impl Into<String>, object_id: impl Into<String>) -> Self {
        Self {
            object_type: object_type.into(),
            object_id: object_id.into(),
        }
    }

    /// Parses `type:id`.
    ///
    /// # Errors
    ///
    /// [`ZanzibarError::MalformedTuple`] describing the first problem found.
    pub fn parse(input: &str) -> Result<Self, ZanzibarError> {
        check_chars(input)?;
        let Some((t, id)) = input.split_once(':') else {
            return Err(malformed(input, "object must be `type:id`"));
        };
        check_type(input, t, "object")?;
        if id.is_empty() {
            return Err(malformed(input, "empty object id"));
        }
        if !is_valid_object_id(id) {
            return Err(malformed(
                input,
                &format!("invalid object id `{id}` (expected [A-Za-z0-9_|-=+.@/]{{1,256}})"),
            ));
        }
        Ok(Self::new(t, id))
    }
}

impl SubjectRef {
    /// A concrete subject `type:id`.
    pub fn new(subject_type: impl Into<String>, subject_id: impl Into<String>) -> Self {
        Self {
            subject_type: subject_type.into(),
            subject_id: subject_id.into(),
            relation: None,
        }
    }

    /// A userset subject `type:id#relation`.
    pub fn userset(
        subject_type: impl Into<String>,
        subject_id: impl Into<String>,
        relation: impl Into<String>,
    ) -> Self {
        Self {
            subject_type: subject_type.into(),
            subject_id: subject_id.into(),
            relation: Some(relation.into()),
        }
    }

    /// A wildcard subject `type:*`.
    pub fn wildcard(subject_type: impl Into<String>) -> Self {
        Self::new(subject_type, "*")
    }

    /// True for `type:*`.
    pub fn is_wildcard(&self) -> bool {
        self.subject_id == "*" && self.relation.is_none()
    }

    /// The subject's object part (`team:eng` for `team:eng#member`).
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(self.subject_type.clone(), self.subject_id.clone())
    }

    /// Parses `type:id`, `type:id#relation` or `type:*`.
    ///
    /// # Errors
    ///
    /// [`ZanzibarError::MalformedTuple`] describing the first problem found.
    pub fn parse(input: &str) -> Result<Self, ZanzibarError> {
        check_chars(input)?;
        let Some((t, rest)) = input.split_once(':') else {
            return Err(malformed(
                input,
                "subject must be `type:id` or `type:id#relation`",
            ));
        };
        check_type(input, t, "subject")?;
        let (id, relation) = match rest.split_once('#') {
            Some((id, r)) => {
                check_relation(input, r, "subject relation")?;
                (id, Some(r))
            }
            None => (rest, None),
        };
        if id.is_empty() {
            return Err(malformed(input, "empty subject id"));
        }
        if !is_valid_subject_id(id) {
            return Err(malformed(
                input,
                &format!(
                    "invalid subject id `{id}` (expected [A-Za-z0-9_|-=+.@/]{{1,256}} or `*`)"
                ),
            ));
        }
        if id == "*" && relation.is_some() {
            return Err(malformed(
                input,
                "a wildcard subject cannot have a relation",
            ));
        }
        Ok(Self {
            subject_type: t.to_string(),
            subject_id: id.to_string(),
            relation: relation.map(str::to_string),
        })
    }
}

impl Tuple {
    /// Builds a tuple without validation.
    pub fn new(object: ObjectRef, relation: impl Into<String>, subject: SubjectRef) -> Self {
        Self {
            object,
            relation: relation.into(),
            subject,
        }
    }

    /// Parses `type:id#relation@subject`.
    ///
    /// # Errors
    ///
    /// [`ZanzibarError::MalformedTuple`] describing the first problem found.
    pub fn parse(input: &str) -> Result<Self, ZanzibarError> {
        check_chars(input)?;
        let Some((object, rest)) = input.split_once('#') else {
            return Err(malformed(
                input,
                "expected `type:id#relation@subject`: missing `#`",
            ));
        };
        let Some((relation, subject)) = rest.split_once('@') else {
            return Err(malformed(
                input,
                "expected `type:id#relation@subject`: missing `@`",
            ));
        };
        let object = ObjectRef::parse(object)
            .map_err(|e| malformed(input, &format!("bad object: {}", inner(&e))))?;
        check_relation(input, relation, "relation")?;
        if subject.is_empty() {
            return Err(malformed(input, "empty subject"));
        }
        let subject = SubjectRef::parse(subject)
            .map_err(|e| malformed(input, &format!("bad subject: {}", inner(&e))))?;
        Ok(Self::new(object, relation, subject))
    }
}

fn inner(e: &ZanzibarError) -> String {
    match e {
        ZanzibarError::MalformedTuple(m) => m.clone(),
        other => other.to_string(),
    }
}

impl FromStr for ObjectRef {
    type Err = ZanzibarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl FromStr for SubjectRef {
    type Err = ZanzibarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl FromStr for Tuple {
    type Err = ZanzibarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object_type, self.object_id)
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.subject_type, self.subject_id)?;
        if let Some(r) = &self.relation {
            write!(f, "#{r}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Tuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}@{}", self.object, self.relation, self.subject)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        for s in [
            "document:1#viewer@user:bob",
            "document:1#viewer@team:eng#member",
            "document:1#viewer@user:*",
            "acme/document:a@b.c/d#viewer@acme/user:x|y",
        ] {
            let t: Tuple = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        let t = Tuple::parse("document:1#viewer@team:eng#member").unwrap();
        assert_eq!(t.object, ObjectRef::new("document", "1"));
        assert_eq!(t.relation, "viewer");
        assert_eq!(t.subject, SubjectRef::userset("team", "eng", "member"));
        assert!(SubjectRef::parse("user:*").unwrap().is_wildcard());
        assert_eq!(
            Tuple::parse("doc:a@b#viewer@user:c@d")
                .unwrap()
                .object
                .object_id,
            "a@b"
        );
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "a",
            "document:",
            ":1",
            "a:b#",
            "a:b#c@",
            "a:b#c@user",
            "a:b#c@user:",
            "a:b#c@:x",
            "a:b#c@user:x#",
            "a:b@user:x",
            "a:#c@user:x",
            "a:b#@user:x",
            "Doc:1#viewer@user:bob",
            "doc:1#Viewer@user:bob",
            "doc:1 #viewer@user:bob",
            " doc:1#viewer@user:bob",
            "doc:1#viewer@user:bob\n",
            "doc:1#viewer@user:b\u{0}b",
            "doc:*#viewer@user:bob",
            "doc:1#viewer@user:*#member",
            "doc:1#viewer@user:b$b",
            "doc:1#viewer@user:bob#member#x",
        ] {
            match Tuple::parse(s) {
                Err(ZanzibarError::MalformedTuple(msg)) => assert!(!msg.is_empty(), "{s}"),
                other => panic!("{s:?} should be malformed, got {other:?}"),
            }
        }
    }

    #[test]
    fn object_and_subject_errors() {
        assert!(ObjectRef::parse("document:").is_err());
        assert!(ObjectRef::parse(":1").is_err());
        assert!(ObjectRef::parse("a").is_err());
        assert!(ObjectRef::parse("user:*").is_err());
        assert!(SubjectRef::parse("team:eng#").is_err());
        assert!(SubjectRef::parse("team:eng#member").is_ok());
        let long = format!("user:{}", "x".repeat(257));
        assert!(SubjectRef::parse(&long).is_err());
        let msg = Tuple::parse("a:b#c@").unwrap_err().to_string();
        assert!(msg.contains("empty subject"), "{msg}");
    }
}
