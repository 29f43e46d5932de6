#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::super::schema::tests::EXAMPLE;
use super::super::{
    ExpandKind, MAX_DEPTH, ObjectRef, Schema, SubjectRef, Tuple, TupleGraph, ZanzibarError, check,
    expand, list_objects, list_subjects,
};

fn graph(tuples: &[&str]) -> TupleGraph {
    let mut g = TupleGraph::new();
    for t in tuples {
        assert!(g.insert(&Tuple::parse(t).unwrap()), "{t}");
    }
    g
}

fn obj(s: &str) -> ObjectRef {
    ObjectRef::parse(s).unwrap()
}

fn sub(s: &str) -> SubjectRef {
    SubjectRef::parse(s).unwrap()
}

fn example() -> (Schema, TupleGraph) {
    let s = Schema::parse(EXAMPLE).unwrap();
    let g = graph(&[
        "team:eng#member@user:alice",
        "team:eng#member@team:ops#member",
        "team:ops#member@user:olga",
        "folder:root#viewer@team:eng#member",
        "folder:pub#viewer@user:*",
        "folder:sub#parent@folder:root",
        "document:1#parent@folder:sub",
        "document:1#owner@user:owen",
        "document:1#editor@user:ed",
        "document:1#viewer@user:vic",
        "document:1#viewer@user:ed",
        "document:1#banned@user:olga",
        "document:2#parent@folder:pub",
        "document:2#banned@user:bad",
        "document:3#editor@team:ops#member",
    ]);
    for t in g.tuples_matching(&Default::default()) {
        s.validate_tuple(&t).unwrap();
    }
    (s, g)
}

fn ck(s: &Schema, g: &TupleGraph, o: &str, r: &str, subj: &str) -> bool {
    check(s, g, &obj(o), r, &sub(subj)).unwrap()
}

#[test]
fn check_example() {
    let (s, g) = example();
    assert!(ck(&s, &g, "document:1", "view", "user:owen"));
    assert!(ck(&s, &g, "document:1", "view", "user:ed"));
    assert!(ck(&s, &g, "document:1", "view", "user:vic"));
    assert!(
        ck(&s, &g, "document:1", "view", "user:alice"),
        "via folder parent chain"
    );
    assert!(!ck(&s, &g, "document:1", "view", "user:olga"), "banned");
    assert!(ck(&s, &g, "folder:sub", "view", "user:olga"), "nested team");
    assert!(!ck(&s, &g, "document:1", "view", "user:nobody"));
    assert!(ck(&s, &g, "document:1", "edit", "user:owen"));
    assert!(!ck(&s, &g, "document:1", "edit", "user:vic"));
    assert!(ck(&s, &g, "document:1", "audit", "user:ed"));
    assert!(!ck(&s, &g, "document:1", "audit", "user:vic"));
    // Wildcards.
    assert!(ck(&s, &g, "document:2", "view", "user:anyone"));
    assert!(!ck(&s, &g, "document:2", "view", "user:bad"));
    assert!(ck(&s, &g, "document:2", "view", "user:*"));
    assert!(!ck(&s, &g, "document:1", "view", "user:*"));
    // Usersets as subjects.
    assert!(
        ck(&s, &g, "team:eng", "member", "team:eng#member"),
        "reflexive"
    );
    assert!(ck(&s, &g, "team:eng", "member", "team:ops#member"));
    assert!(!ck(&s, &g, "team:ops", "member", "team:eng#member"));
    assert!(
        ck(&s, &g, "document:1", "view", "team:eng#member"),
        "via folder"
    );
    assert!(ck(&s, &g, "document:3", "edit", "team:ops#member"));
    assert!(!ck(&s, &g, "document:3", "edit", "team:eng#member"));
    assert!(
        ck(&s, &g, "document:9", "view", "document:9#viewer"),
        "reflexive, no tuples"
    );
    assert!(ck(&s, &g, "document:1", "view", "folder:root#view"));
}

#[test]
fn check_errors() {
    let (s, g) = example();
    let c = |o: &str, r: &str, subj: SubjectRef| check(&s, &g, &obj(o), r, &subj);
    assert_eq!(
        c("nope:1", "view", sub("user:a")),
        Err(ZanzibarError::UnknownType("nope".into()))
    );
    assert!(matches!(
        c("document:1", "nope", sub("user:a")),
        Err(ZanzibarError::UnknownRelation { .. })
    ));
    assert_eq!(
        c("document:1", "view", sub("ghost:a")),
        Err(ZanzibarError::UnknownType("ghost".into()))
    );
    assert!(matches!(
        c("document:1", "view", sub("team:a#nope")),
        Err(ZanzibarError::UnknownRelation { .. })
    ));
    assert!(matches!(
        c(
            "document:1",
            "view",
            SubjectRef::userset("team", "*", "member")
        ),
        Err(ZanzibarError::MalformedTuple(_))
    ));
}

#[test]
fn data_cycles_are_false_and_terminate() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let g = graph(&[
        "team:a#member@team:b#member",
        "team:b#member@team:c#member",
        "team:c#member@team:a#member",
        "team:c#member@user:carol",
        "folder:x#parent@folder:y",
        "folder:y#parent@folder:x",
        "document:d#parent@folder:x",
    ]);
    assert!(ck(&s, &g, "team:a", "member", "user:carol"));
    assert!(ck(&s, &g, "team:b", "member", "team:a#member"));
    assert!(!ck(&s, &g, "team:a", "member", "user:dave"));
    assert!(!ck(&s, &g, "document:d", "view", "user:carol"));
    assert!(!ck(&s, &g, "folder:x", "view", "user:carol"));
    // A dense cycle of teams: every team includes every other; must stay cheap.
    let mut dense = Vec::new();
    for i in 0..30 {
        for j in 0..30 {
            if i != j {
                dense.push(format!("team:t{i}#member@team:t{j}#member"));
            }
        }
    }
    let refs: Vec<&str> = dense.iter().map(String::as_str).collect();
    let g = graph(&refs);
    assert!(!ck(&s, &g, "team:t0", "member", "user:x"));
    assert_eq!(
        list_objects(&s, &g, "team", "member", &sub("team:t5#member"))
            .unwrap()
            .len(),
        30
    );
}

#[test]
fn deep_chain_exceeds_depth() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let mut tuples = Vec::new();
    for i in 0..200 {
        tuples.push(format!("team:t{i}#member@team:t{}#member", i + 1));
    }
    tuples.push("team:t200#member@user:deep".to_string());
    let refs: Vec<&str> = tuples.iter().map(String::as_str).collect();
    let g = graph(&refs);
    assert_eq!(
        check(&s, &g, &obj("team:t0"), "member", &sub("user:deep")),
        Err(ZanzibarError::DepthExceeded { max: MAX_DEPTH })
    );
    assert!(ck(&s, &g, "team:t180", "member", "user:deep"));
    assert!(matches!(
        expand(&s, &g, &obj("folder:f0"), "view"),
        Ok(t) if t.kind == ExpandKind::Union
    ));
    let mut folders = Vec::new();
    for i in 0..200 {
        folders.push(format!("folder:f{i}#parent@folder:f{}", i + 1));
    }
    let refs: Vec<&str> = folders.iter().map(String::as_str).collect();
    let g = graph(&refs);
    assert_eq!(
        expand(&s, &g, &obj("folder:f0"), "view"),
        Err(ZanzibarError::DepthExceeded { max: MAX_DEPTH })
    );
    assert_eq!(
        check(&s, &g, &obj("folder:f0"), "view", &sub("user:x")),
        Err(ZanzibarError::DepthExceeded { max: MAX_DEPTH })
    );
    // A direct grant is found even when another branch is too deep.
    let mut g = g;
    g.insert(&Tuple::parse("folder:f0#viewer@user:x").unwrap());
    assert!(ck(&s, &g, "folder:f0", "view", "user:x"));
}

#[test]
fn expand_example() {
    let (s, g) = example();
    let leaf = expand(&s, &g, &obj("document:1"), "viewer").unwrap();
    assert_eq!(leaf.kind, ExpandKind::Leaf);
    assert_eq!(leaf.subjects, vec!["user:ed", "user:vic"]);
    let t = expand(&s, &g, &obj("document:1"), "view").unwrap();
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["type"], "exclusion");
    assert_eq!(v["object"], "document:1");
    assert_eq!(v["relation"], "view");
    assert_eq!(v["children"][0]["type"], "union");
    assert_eq!(v["children"][0]["children"][0]["relation"], "viewer");
    assert_eq!(v["children"][0]["children"][1]["relation"], "edit");
    let arrow = &v["children"][0]["children"][2];
    assert_eq!(arrow["relation"], "parent->view");
    assert_eq!(arrow["children"][0]["object"], "folder:sub");
    let root = &arrow["children"][0]["children"][1]["children"][0];
    assert_eq!(root["object"], "folder:root");
    assert_eq!(
        root["children"][0]["subjects"],
        serde_json::json!(["team:eng#member"])
    );
    assert_eq!(
        v["children"][1]["subjects"],
        serde_json::json!(["user:olga"])
    );
    assert_eq!(v["children"][1]["children"], serde_json::json!([]));
    let audit = expand(&s, &g, &obj("document:1"), "audit").unwrap();
    assert_eq!(audit.kind, ExpandKind::Intersection);
    let team = expand(&s, &g, &obj("team:eng"), "member").unwrap();
    assert_eq!(team.subjects, vec!["team:ops#member", "user:alice"]);
    assert!(matches!(
        expand(&s, &g, &obj("document:1"), "nope"),
        Err(ZanzibarError::UnknownRelation { .. })
    ));
}

#[test]
fn expand_cycle_is_finite() {
    let s = Schema::parse(EXAMPLE).unwrap();
    let g = graph(&["folder:x#parent@folder:y", "folder:y#parent@folder:x"]);
    let t = expand(&s, &g, &obj("folder:x"), "view").unwrap();
    let text = serde_json::to_string(&t).unwrap();
    assert!(text.contains("folder:y"));
}

#[test]
fn list_example() {
    let (s, g) = example();
    let ids = |v: Vec<ObjectRef>| v.into_iter().map(|o| o.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ids(list_objects(&s, &g, "document", "view", &sub("user:alice")).unwrap()),
        vec!["document:1", "document:2"]
    );
    assert_eq!(
        ids(list_objects(&s, &g, "document", "view", &sub("user:anyone")).unwrap()),
        vec!["document:2"]
    );
    assert_eq!(
        ids(list_objects(&s, &g, "team", "member", &sub("team:ops#member")).unwrap()),
        vec!["team:eng", "team:ops"]
    );
    assert_eq!(
        ids(list_objects(&s, &g, "folder", "view", &sub("user:olga")).unwrap()),
        vec!["folder:pub", "folder:root", "folder:sub"]
    );
    let subs = |v: Vec<SubjectRef>| v.into_iter().map(|o| o.to_string()).collect::<Vec<_>>();
    assert_eq!(
        subs(list_subjects(&s, &g, &obj("document:1"), "view", None).unwrap()),
        vec!["user:alice", "user:ed", "user:owen", "user:vic"]
    );
    // Wildcard: user:* plus every known user not banned.
    let d2 = subs(list_subjects(&s, &g, &obj("document:2"), "view", Some("user")).unwrap());
    assert!(d2.contains(&"user:*".to_string()));
    assert!(d2.contains(&"user:alice".to_string()));
    assert!(!d2.contains(&"user:bad".to_string()));
    assert!(
        subs(list_subjects(&s, &g, &obj("document:2"), "view", Some("team")).unwrap()).is_empty()
    );
    assert!(matches!(
        list_subjects(&s, &g, &obj("document:2"), "view", Some("ghost")),
        Err(ZanzibarError::UnknownType(_))
    ));
}

#[test]
fn userset_to_permission() {
    let s = Schema::parse(
        "definition user {}\ndefinition group {\n relation direct: user\n relation sub: group#all\n permission all = direct + sub\n}\ndefinition doc {\n relation viewer: group#all\n}",
    )
    .unwrap();
    let g = graph(&[
        "group:a#sub@group:b#all",
        "group:b#direct@user:u",
        "doc:1#viewer@group:a#all",
    ]);
    assert!(ck(&s, &g, "doc:1", "viewer", "user:u"));
    assert!(ck(&s, &g, "doc:1", "viewer", "group:b#all"));
    // group:b#direct is included in group:b#all, hence in doc:1#viewer.
    assert!(ck(&s, &g, "doc:1", "viewer", "group:b#direct"));
    assert!(!ck(&s, &g, "doc:1", "viewer", "group:c#all"));
    assert!(!ck(&s, &g, "group:b", "all", "group:a#all"));
}
