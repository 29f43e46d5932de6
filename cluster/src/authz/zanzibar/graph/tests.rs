#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::super::{ObjectRef, SubjectRef, Tuple};
use super::{TupleFilter, TupleGraph};

fn t(s: &str) -> Tuple {
    Tuple::parse(s).unwrap()
}

#[test]
fn insert_remove_contains() {
    let mut g = TupleGraph::new();
    assert!(g.is_empty());
    for s in [
        "document:1#viewer@user:bob",
        "document:1#viewer@team:eng#member",
        "document:1#viewer@user:*",
    ] {
        assert!(g.insert(&t(s)), "{s}");
        assert!(!g.insert(&t(s)), "{s} twice");
        assert!(g.contains(&t(s)));
    }
    assert_eq!(g.len(), 3);
    assert!(!g.contains(&t("document:1#viewer@user:alice")));
    assert!(!g.contains(&t("document:1#viewer@team:eng#admin")));
    assert!(!g.contains(&t("document:2#viewer@user:bob")));
    assert!(!g.remove(&t("document:1#viewer@user:alice")));
    assert!(g.remove(&t("document:1#viewer@user:*")));
    assert!(!g.contains(&t("document:1#viewer@user:*")));
    assert!(g.remove(&t("document:1#viewer@team:eng#member")));
    assert!(g.remove(&t("document:1#viewer@user:bob")));
    assert!(!g.remove(&t("document:1#viewer@user:bob")));
    assert_eq!(g.len(), 0);
    assert!(g.object_ids("document").is_empty());
    assert!(g.subject_ids("user").is_empty());
}

#[test]
fn small_set_grows_and_shrinks() {
    let mut g = TupleGraph::new();
    for i in 0..100 {
        assert!(g.insert(&t(&format!("doc:1#viewer@user:u{i}"))));
        assert!(g.insert(&t(&format!("doc:1#viewer@team:t{i}#member"))));
    }
    assert_eq!(g.len(), 200);
    for i in 0..100 {
        assert!(g.contains(&t(&format!("doc:1#viewer@user:u{i}"))));
    }
    for i in 0..98 {
        assert!(g.remove(&t(&format!("doc:1#viewer@user:u{i}"))));
        assert!(g.remove(&t(&format!("doc:1#viewer@team:t{i}#member"))));
    }
    assert_eq!(g.len(), 4);
    assert!(g.contains(&t("doc:1#viewer@user:u99")));
    assert!(g.contains(&t("doc:1#viewer@team:t98#member")));
    assert_eq!(g.subject_ids("user"), vec!["u98", "u99"]);
}

#[test]
fn indexes_and_subjects() {
    let mut g = TupleGraph::new();
    for s in [
        "doc:b#viewer@user:x",
        "doc:a#viewer@user:y",
        "doc:a#editor@user:y",
        "doc:a#viewer@team:t#member",
        "doc:a#viewer@user:*",
    ] {
        g.insert(&t(s));
    }
    assert_eq!(g.object_ids("doc"), vec!["a", "b"]);
    assert_eq!(g.subject_ids("user"), vec!["x", "y"]);
    assert!(g.subject_ids("team").is_empty());
    assert_eq!(
        g.subjects_of(&ObjectRef::new("doc", "a"), "viewer"),
        vec![
            SubjectRef::userset("team", "t", "member"),
            SubjectRef::wildcard("user"),
            SubjectRef::new("user", "y"),
        ]
    );
    g.remove(&t("doc:a#viewer@user:y"));
    assert_eq!(g.subject_ids("user"), vec!["x", "y"]);
    g.remove(&t("doc:a#editor@user:y"));
    assert_eq!(g.subject_ids("user"), vec!["x"]);
    assert!(g.approx_heap_bytes() > 0);
}

#[test]
fn tuples_matching_sorted_and_filtered() {
    let mut g = TupleGraph::new();
    let all = [
        "doc:2#viewer@user:a",
        "doc:1#viewer@user:b",
        "doc:1#viewer@user:a",
        "doc:1#editor@team:t#member",
        "folder:1#viewer@user:*",
    ];
    for s in all {
        g.insert(&t(s));
    }
    let got: Vec<String> = g
        .tuples_matching(&TupleFilter::default())
        .map(|t| t.to_string())
        .collect();
    assert_eq!(
        got,
        vec![
            "doc:1#editor@team:t#member",
            "doc:1#viewer@user:a",
            "doc:1#viewer@user:b",
            "doc:2#viewer@user:a",
            "folder:1#viewer@user:*",
        ]
    );
    let f =
        |f: TupleFilter| -> Vec<String> { g.tuples_matching(&f).map(|t| t.to_string()).collect() };
    assert_eq!(
        f(TupleFilter {
            object_type: Some("doc".into()),
            object_id: Some("1".into()),
            relation: Some("viewer".into()),
            ..Default::default()
        }),
        vec!["doc:1#viewer@user:a", "doc:1#viewer@user:b"]
    );
    assert_eq!(
        f(TupleFilter {
            subject_id: Some("a".into()),
            ..Default::default()
        }),
        vec!["doc:1#viewer@user:a", "doc:2#viewer@user:a"]
    );
    assert_eq!(
        f(TupleFilter {
            subject_relation: Some("member".into()),
            ..Default::default()
        }),
        vec!["doc:1#editor@team:t#member"]
    );
    assert_eq!(
        f(TupleFilter {
            subject_id: Some("*".into()),
            ..Default::default()
        }),
        vec!["folder:1#viewer@user:*"]
    );
    assert!(
        f(TupleFilter {
            object_type: Some("nope".into()),
            ..Default::default()
        })
        .is_empty()
    );
}
