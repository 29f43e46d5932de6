#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::super::{
    MAX_DEFINITIONS, MAX_RELATIONS_PER_TYPE, MAX_SCHEMA_BYTES, Tuple, ZanzibarError,
};
use super::{AllowedSubject, Expr, Schema};

pub(crate) const EXAMPLE: &str = r#"
// The example schema from the design notes.
definition user {}
definition team {
  relation member: user | team#member
}
/* folders
   nest */
definition folder {
  relation parent: folder
  relation viewer: user | user:* | team#member
  permission view = viewer + parent->view
}
definition document {
  relation parent: folder
  relation owner: user
  relation editor: user | team#member
  relation viewer: user | team#member
  relation banned: user
  permission edit = editor + owner
  permission view = (viewer + edit + parent->view) - banned
  permission audit = viewer & editor
}
"#;

fn err_of(text: &str) -> (String, Option<usize>) {
    match Schema::parse(text) {
        Err(ZanzibarError::InvalidSchema { message, line }) => (message, line),
        other => panic!("expected InvalidSchema for {text:?}, got {other:?}"),
    }
}

fn assert_err(text: &str, needle: &str, line: Option<usize>) {
    let (message, l) = err_of(text);
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
    if line.is_some() {
        assert_eq!(l, line, "line for {message:?}");
    }
}

#[test]
fn parses_example() {
    let s = Schema::parse(EXAMPLE).unwrap();
    assert_eq!(s.object_types(), vec!["user", "team", "folder", "document"]);
    let doc = s.definition("document").unwrap();
    assert_eq!(doc.relations().len(), 5);
    assert_eq!(doc.permissions().len(), 3);
    let view = doc.permission("view").unwrap();
    assert_eq!(
        view.expr.to_string(),
        "(viewer + edit + parent->view) - banned"
    );
    let folder = s.definition("folder").unwrap();
    assert_eq!(
        folder.relation("viewer").unwrap().allowed,
        vec![
            AllowedSubject::Type("user".into()),
            AllowedSubject::Wildcard("user".into()),
            AllowedSubject::Userset {
                subject_type: "team".into(),
                relation: "member".into()
            },
        ]
    );
    assert!(s.has_relation_or_permission("document", "view"));
    assert!(s.has_relation_or_permission("document", "owner"));
    assert!(!s.has_relation_or_permission("document", "nope"));
    assert!(!s.has_relation_or_permission("nope", "view"));
}

#[test]
fn equal_precedence_left_assoc() {
    let s = Schema::parse(
        "definition u {}\ndefinition d {\n relation a: u\n relation b: u\n relation c: u\n permission p = a - b + c\n permission q = a + b & c\n permission r = a - (b - c)\n}",
    )
    .unwrap();
    let d = s.definition("d").unwrap();
    let r = |n: &str| Expr::Ref(n.into());
    assert_eq!(
        d.permission("p").unwrap().expr,
        Expr::Union(vec![
            Expr::Exclusion(Box::new(r("a")), Box::new(r("b"))),
            r("c")
        ])
    );
    assert_eq!(
        d.permission("q").unwrap().expr,
        Expr::Intersection(vec![Expr::Union(vec![r("a"), r("b")]), r("c")])
    );
    assert_eq!(d.permission("p").unwrap().expr.to_string(), "(a - b) + c");
    assert_eq!(d.permission("r").unwrap().expr.to_string(), "a - (b - c)");
}

#[test]
fn to_text_round_trips() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let text = s.to_text();
    assert!(text.starts_with(
        "definition user {}\n\ndefinition team {\n    relation member: user | team#member\n}\n"
    ));
    let again = Schema::parse(&text).unwrap();
    assert_eq!(again.to_text(), text);
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&s).unwrap()
    );
}

#[test]
fn json_view() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let v = serde_json::to_value(&s).unwrap();
    let doc = &v["definitions"][3];
    assert_eq!(doc["name"], "document");
    assert_eq!(doc["relations"][2]["name"], "editor");
    assert_eq!(
        doc["relations"][2]["allowed_types"],
        serde_json::json!(["user", "team#member"])
    );
    assert_eq!(doc["permissions"][1]["name"], "view");
    assert_eq!(
        doc["permissions"][1]["expression"],
        "(viewer + edit + parent->view) - banned"
    );
    assert_eq!(
        v["definitions"][2]["relations"][1]["allowed_types"][1],
        "user:*"
    );
}

#[test]
fn namespaced_types_and_comments() {
    let s = Schema::parse(
        "definition acme/user {} // trailing\n/* block */ definition acme/doc {\n relation viewer: acme/user | acme/user:*\n permission view = viewer\n}",
    )
    .unwrap();
    assert!(s.definition("acme/doc").is_some());
    assert!(
        s.to_text()
            .contains("relation viewer: acme/user | acme/user:*")
    );
    assert!(Schema::parse("").unwrap().definitions().is_empty());
}

#[test]
fn syntax_errors_have_lines() {
    assert_err("definition user {", "expected", Some(1));
    assert_err(
        "definition user {}\ndefinition doc {\n relation x user\n}",
        "expected `:`",
        Some(3),
    );
    assert_err(
        "definition user {}\n\ndefinition doc {\n permission p = \n}",
        "expected a relation name",
        Some(5),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user |\n}",
        "expected a subject type",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission p = (x\n}",
        "expected `)`",
        Some(5),
    );
    assert_err(
        "definition user {}\n/* never closed",
        "unterminated block comment",
        Some(2),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user $\n}",
        "unexpected character `$`",
        Some(3),
    );
    assert_err("definiton user {}", "expected `definition`", Some(1));
    assert_err(
        "definition user {}\ndefinition doc {\n caveat x\n}",
        "expected `relation`, `permission` or `}`",
        Some(3),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user:\n}",
        "expected `*`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user#\n}",
        "after `#`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission p = x->\n}",
        "after `->`",
        Some(5),
    );
}

#[test]
fn name_errors() {
    assert_err("definition User {}", "invalid type name `User`", Some(1));
    assert_err(
        "definition user {}\ndefinition doc {\n relation Viewer: user\n}",
        "invalid relation or permission name `Viewer`",
        Some(3),
    );
    assert_err("definition a/b/c {}", "invalid type name", Some(1));
}

#[test]
fn duplicate_errors() {
    assert_err(
        "definition user {}\ndefinition user {}",
        "duplicate definition `user`",
        Some(2),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n relation x: user\n}",
        "duplicate relation or permission `x`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission x = x\n}",
        "duplicate relation or permission `x`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user | user\n}",
        "duplicate allowed subject type `user`",
        Some(3),
    );
}

#[test]
fn reference_errors() {
    assert_err(
        "definition doc {\n relation x: user\n}",
        "unknown type `user`",
        Some(2),
    );
    assert_err(
        "definition user {}\ndefinition team {\n relation member: user\n}\ndefinition doc {\n relation x: team#members\n}",
        "unknown relation `team#members`",
        Some(6),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission p = x + y\n}",
        "unknown relation or permission `y`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission p = x\n permission q = p->x\n}",
        "must be a relation, not a permission",
        Some(5),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission q = nope->x\n}",
        "unknown relation `nope`",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition folder {}\ndefinition doc {\n relation parent: folder | user\n permission q = parent->view\n}",
        "`view` does not exist on any allowed subject type",
        Some(5),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation parent: user:*\n permission q = parent->x\n}",
        "may only allow plain object types",
        Some(4),
    );
    // Existing on one of the allowed types is enough.
    Schema::parse("definition user {}\ndefinition folder { relation view: user }\ndefinition doc {\n relation parent: folder | user\n permission q = parent->view\n}").unwrap();
}

#[test]
fn cycle_errors() {
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission a = b\n permission b = a\n}",
        "cyclic permission: doc#a -> doc#b -> doc#a",
        None,
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission a = a + x\n}",
        "cyclic permission: doc#a -> doc#a",
        Some(4),
    );
    assert_err(
        "definition user {}\ndefinition doc {\n relation x: user\n permission a = x - (c & x)\n permission b = a\n permission c = b\n}",
        "cyclic permission",
        None,
    );
    // Through data (arrows, usersets) is fine.
    Schema::parse("definition doc {\n relation parent: doc\n permission a = parent->a\n}").unwrap();
    Schema::parse("definition group {\n relation member: group#all\n permission all = member\n}")
        .unwrap();
}

#[test]
fn size_limits() {
    let big = format!("definition user {{}}\n//{}", "x".repeat(MAX_SCHEMA_BYTES));
    assert_err(&big, "bytes", None);
    let many: String = (0..=MAX_DEFINITIONS)
        .map(|i| format!("definition t{i} {{}}\n"))
        .collect();
    assert_err(&many, "too many definitions", Some(MAX_DEFINITIONS + 1));
    let mut rels = String::from("definition user {}\ndefinition doc {\n");
    for i in 0..=MAX_RELATIONS_PER_TYPE {
        rels.push_str(&format!(" relation r{i}: user\n"));
    }
    rels.push('}');
    assert_err(&rels, "too many relations", None);
    let deep = format!(
        "definition user {{}}\ndefinition doc {{\n relation x: user\n permission p = {}x{}\n}}",
        "(".repeat(40),
        ")".repeat(40)
    );
    assert_err(&deep, "nested too deeply", Some(4));
    let alternating: String = (0..40)
        .map(|i| if i % 2 == 0 { " + x" } else { " - x" })
        .collect();
    let chain = format!(
        "definition user {{}}\ndefinition doc {{\n relation x: user\n permission p = x{alternating}\n}}"
    );
    assert_err(&chain, "nested too deeply", Some(4));
    let flat: String = " + x".repeat(5000);
    Schema::parse(&format!(
        "definition user {{}}\ndefinition doc {{\n relation x: user\n permission p = x{flat}\n}}"
    ))
    .unwrap();
}

#[test]
fn validate_tuple() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let ok = |t: &str| s.validate_tuple(&Tuple::parse(t).unwrap());
    ok("document:1#viewer@user:bob").unwrap();
    ok("document:1#viewer@team:eng#member").unwrap();
    ok("folder:1#viewer@user:*").unwrap();
    ok("team:a#member@team:b#member").unwrap();
    assert!(
        matches!(ok("nope:1#viewer@user:bob"), Err(ZanzibarError::UnknownType(t)) if t == "nope")
    );
    assert!(matches!(
        ok("document:1#nope@user:bob"),
        Err(ZanzibarError::UnknownRelation { .. })
    ));
    assert!(
        matches!(ok("document:1#view@user:bob"), Err(ZanzibarError::InvalidTuple(m)) if m.contains("permission"))
    );
    assert!(matches!(
        ok("document:1#viewer@user:*"),
        Err(ZanzibarError::InvalidTuple(_))
    ));
    assert!(matches!(
        ok("document:1#viewer@team:eng"),
        Err(ZanzibarError::InvalidTuple(_))
    ));
    assert!(matches!(
        ok("document:1#viewer@folder:x"),
        Err(ZanzibarError::InvalidTuple(_))
    ));
    assert!(matches!(
        ok("document:1#owner@team:eng#member"),
        Err(ZanzibarError::InvalidTuple(_))
    ));
    assert!(matches!(
        ok("team:a#member@team:b#admin"),
        Err(ZanzibarError::InvalidTuple(_))
    ));
}
