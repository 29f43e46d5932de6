//! Property tests: the evaluator against the naive reference on random schemas and graphs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::reference::Reference;
use super::{
    AllowedSubject, ObjectRef, Schema, SubjectRef, Tuple, TupleGraph, check, list_objects,
    list_subjects,
};

const TYPES: [&str; 3] = ["t0", "t1", "t2"];
const IDS: [&str; 3] = ["a", "b", "c"];
const MEMBERS: [&str; 5] = ["p", "r0", "r1", "q0", "q1"];

/// Tiny deterministic generator for schema shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Random expression for a permission at `level` (q0 = 1, q1 = 2). `neg` marks the right
/// side of an exclusion, which may only use lower strata (relations, and q0 for q1).
fn gen_expr(rng: &mut Rng, level: usize, depth: usize, neg: bool) -> String {
    if depth < 2 && rng.chance(45) {
        let a = gen_expr(rng, level, depth + 1, neg);
        let b = gen_expr(rng, level, depth + 1, neg);
        return match rng.below(4) {
            0 | 1 => format!("({a} + {b})"),
            2 => format!("({a} & {b})"),
            _ => {
                let r = gen_expr(rng, level, depth + 1, true);
                format!("({a} - {r})")
            }
        };
    }
    let mut leaves: Vec<String> = ["r0", "r1", "p"].iter().map(|s| s.to_string()).collect();
    if level == 2 {
        leaves.push("q0".into());
    }
    let mut arrow_targets = vec!["r0", "r1", "p"];
    if level == 2 || !neg {
        arrow_targets.push("q0");
    }
    if level == 2 && !neg {
        arrow_targets.push("q1");
    }
    for t in arrow_targets {
        leaves.push(format!("p->{t}"));
        leaves.push(format!("p->{t}"));
    }
    leaves[rng.below(leaves.len())].clone()
}

fn gen_schema(seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut text = String::from("definition user {}\n");
    for t in TYPES {
        let mut parents: Vec<&str> = TYPES.iter().copied().filter(|_| rng.chance(60)).collect();
        if parents.is_empty() {
            parents.push(rng.pick(&TYPES));
        }
        text.push_str(&format!(
            "definition {t} {{\n  relation p: {}\n",
            parents.join(" | ")
        ));
        for r in ["r0", "r1"] {
            let options = [
                "user", "user:*", "t0", "t1", "t2", "t0#r0", "t1#r1", "t2#r0", "t0#r1", "t1#r0",
                "t2#r1",
            ];
            let mut allowed: Vec<&str> = vec!["user"];
            for o in options.iter().skip(1) {
                if rng.chance(30) {
                    allowed.push(o);
                }
            }
            text.push_str(&format!("  relation {r}: {}\n", allowed.join(" | ")));
        }
        let q0 = gen_expr(&mut rng, 1, 0, false);
        let q1 = gen_expr(&mut rng, 2, 0, false);
        text.push_str(&format!(
            "  permission q0 = {q0}\n  permission q1 = {q1}\n}}\n"
        ));
    }
    text
}

/// Maps raw numbers to a tuple that is valid for the schema.
fn make_tuple(schema: &Schema, raw: (u8, u8, u8, u8, u8)) -> Tuple {
    let (ty, id, rel, choice, sid) = raw;
    let ty = TYPES[ty as usize % 3];
    let rel = ["p", "r0", "r1"][rel as usize % 3];
    let allowed = &schema
        .definition(ty)
        .unwrap()
        .relation(rel)
        .unwrap()
        .allowed;
    let subject = match &allowed[choice as usize % allowed.len()] {
        AllowedSubject::Type(t) if t == "user" => SubjectRef::new("user", format!("u{}", sid % 4)),
        AllowedSubject::Type(t) => SubjectRef::new(t.as_str(), IDS[sid as usize % 3]),
        AllowedSubject::Wildcard(t) => SubjectRef::wildcard(t.as_str()),
        AllowedSubject::Userset {
            subject_type,
            relation,
        } => SubjectRef::userset(
            subject_type.as_str(),
            IDS[sid as usize % 3],
            relation.as_str(),
        ),
    };
    Tuple::new(ObjectRef::new(ty, IDS[id as usize % 3]), rel, subject)
}

fn all_objects() -> Vec<ObjectRef> {
    TYPES
        .iter()
        .flat_map(|t| IDS.iter().map(move |i| ObjectRef::new(*t, *i)))
        .collect()
}

fn query_subjects() -> Vec<SubjectRef> {
    let mut v: Vec<SubjectRef> = (0..4)
        .map(|i| SubjectRef::new("user", format!("u{i}")))
        .collect();
    v.push(SubjectRef::new("user", "u9"));
    v.push(SubjectRef::wildcard("user"));
    v.push(SubjectRef::new("t1", "a"));
    v.push(SubjectRef::userset("t0", "a", "r0"));
    v.push(SubjectRef::userset("t1", "b", "q0"));
    v.push(SubjectRef::userset("t2", "c", "p"));
    v.push(SubjectRef::userset("t0", "b", "q1"));
    v
}

fn raw_tuples() -> impl Strategy<Value = Vec<(u8, u8, u8, u8, u8)>> {
    prop::collection::vec(any::<(u8, u8, u8, u8, u8)>(), 0..28)
}

proptest! {
    #[test]
    fn evaluator_matches_reference(seed in any::<u64>(), raw in raw_tuples()) {
        let text = gen_schema(seed);
        let schema = Schema::parse(&text).unwrap();
        let mut graph = TupleGraph::new();
        let mut tuples = Vec::new();
        for r in raw {
            let t = make_tuple(&schema, r);
            schema.validate_tuple(&t).unwrap();
            if graph.insert(&t) {
                tuples.push(t);
            }
        }
        let objects = all_objects();
        let reference = Reference::new(&schema, &tuples, &objects);
        let ctx = || format!("schema:\n{text}\ntuples: {:?}", tuples.iter().map(ToString::to_string).collect::<Vec<_>>());
        for s in query_subjects() {
            let facts = reference.facts(&s);
            for o in &objects {
                for m in MEMBERS {
                    let want = facts.contains(&(o.clone(), m.to_string()));
                    let got = check(&schema, &graph, o, m, &s).unwrap();
                    prop_assert_eq!(got, want, "check({}#{}@{})\n{}", o, m, s, ctx());
                }
            }
            for t in TYPES {
                for m in MEMBERS {
                    let got = list_objects(&schema, &graph, t, m, &s).unwrap();
                    let want = reference.list_objects(&facts, t, m);
                    prop_assert_eq!(got, want, "list_objects({}#{}@{})\n{}", t, m, s, ctx());
                }
            }
        }
        let candidates: Vec<(SubjectRef, _)> = reference
            .tuple_subjects()
            .iter()
            .map(|s| (s.clone(), reference.facts(s)))
            .collect();
        for o in &objects {
            for m in MEMBERS {
                for filter in [None, Some("user")] {
                    let got = list_subjects(&schema, &graph, o, m, filter).unwrap();
                    let want: Vec<SubjectRef> = candidates
                        .iter()
                        .filter(|(s, f)| filter.is_none_or(|t| s.subject_type == t) && f.contains(&(o.clone(), m.to_string())))
                        .map(|(s, _)| s.clone())
                        .collect();
                    prop_assert_eq!(got, want, "list_subjects({}#{}, {:?})\n{}", o, m, filter, ctx());
                }
            }
        }
    }

    #[test]
    fn graph_matches_set_model(ops in prop::collection::vec((any::<bool>(), any::<(u8, u8, u8)>()), 0..200)) {
        let mut graph = TupleGraph::new();
        let mut model = BTreeSet::new();
        for (insert, (o, r, s)) in ops {
            let subject = match s % 4 {
                0 => SubjectRef::wildcard("user"),
                1 => SubjectRef::userset("team", format!("t{}", s % 3), "member"),
                _ => SubjectRef::new("user", format!("u{}", s % 12)),
            };
            let t = Tuple::new(ObjectRef::new("doc", format!("d{}", o % 3)), ["viewer", "editor"][r as usize % 2], subject);
            if insert {
                prop_assert_eq!(graph.insert(&t), model.insert(t.clone()));
            } else {
                prop_assert_eq!(graph.remove(&t), model.remove(&t));
            }
            prop_assert_eq!(graph.len(), model.len());
        }
        let all: Vec<Tuple> = graph.tuples_matching(&Default::default()).collect();
        prop_assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
        for t in &model {
            prop_assert!(graph.contains(t));
        }
    }

    #[test]
    fn tuple_display_parse_round_trip(
        ty in "[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8})?",
        id in "[A-Za-z0-9_|=+.@/-]{1,20}",
        rel in "[a-z][a-z0-9_]{0,10}",
        sty in "[a-z][a-z0-9_]{0,8}",
        sid in "([A-Za-z0-9_|=+.@/-]{1,20}|\\*)",
        srel in proptest::option::of("[a-z][a-z0-9_]{0,10}"),
    ) {
        let srel = if sid == "*" { None } else { srel };
        let t = Tuple::new(
            ObjectRef::new(ty, id),
            rel,
            SubjectRef { subject_type: sty, subject_id: sid, relation: srel },
        );
        let text = t.to_string();
        prop_assert_eq!(Tuple::parse(&text).unwrap(), t);
    }
}
