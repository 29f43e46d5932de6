//! A deliberately naive reference evaluator for property tests.
//!
//! It computes, for one subject, every `(object, relation)` fact by stratified naive
//! iteration: strata are ordered so that the right side of every `-` is fully computed
//! before it is used; inside a stratum, rules are monotone and iterated to a fixpoint
//! (least fixpoint semantics for cycles in the data).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{AllowedSubject, Expr, Member, ObjectRef, Schema, SubjectRef, Tuple};

type Fact = (ObjectRef, String);
type Node = (String, String);
/// A node and its dependencies (`true` = through the right side of an exclusion).
type DepGraph = Vec<(Node, Vec<(Node, bool)>)>;

pub(crate) struct Reference<'a> {
    schema: &'a Schema,
    by_key: HashMap<Fact, Vec<SubjectRef>>,
    objects: BTreeSet<ObjectRef>,
    strata: HashMap<(String, String), usize>,
    max_stratum: usize,
    tuple_subjects: BTreeSet<SubjectRef>,
}

fn deps(schema: &Schema, ty: &str, e: &Expr, neg: bool, out: &mut Vec<((String, String), bool)>) {
    match e {
        Expr::Ref(n) => out.push(((ty.to_string(), n.clone()), neg)),
        Expr::Arrow { tupleset, computed } => {
            out.push(((ty.to_string(), tupleset.clone()), neg));
            let rel = schema.definition(ty).unwrap().relation(tupleset).unwrap();
            for a in &rel.allowed {
                if schema.has_relation_or_permission(a.subject_type(), computed) {
                    out.push(((a.subject_type().to_string(), computed.clone()), neg));
                }
            }
        }
        Expr::Union(items) | Expr::Intersection(items) => {
            for i in items {
                deps(schema, ty, i, neg, out);
            }
        }
        Expr::Exclusion(l, r) => {
            deps(schema, ty, l, neg, out);
            deps(schema, ty, r, true, out);
        }
    }
}

impl<'a> Reference<'a> {
    pub(crate) fn new(schema: &'a Schema, tuples: &[Tuple], extra_objects: &[ObjectRef]) -> Self {
        let mut by_key: HashMap<Fact, Vec<SubjectRef>> = HashMap::new();
        let mut objects: BTreeSet<ObjectRef> = extra_objects.iter().cloned().collect();
        let mut tuple_subjects = BTreeSet::new();
        for t in tuples {
            by_key
                .entry((t.object.clone(), t.relation.clone()))
                .or_default()
                .push(t.subject.clone());
            objects.insert(t.object.clone());
            if !t.subject.is_wildcard() {
                objects.insert(t.subject.object());
            }
            if t.subject.relation.is_none() {
                tuple_subjects.insert(t.subject.clone());
            }
        }
        // Node dependencies: (node, [(dep, negative)]).
        let mut graph: DepGraph = Vec::new();
        for d in schema.definitions() {
            for r in d.relations() {
                let ds = r
                    .allowed
                    .iter()
                    .filter_map(|a| match a {
                        AllowedSubject::Userset {
                            subject_type,
                            relation,
                        } => Some(((subject_type.clone(), relation.clone()), false)),
                        _ => None,
                    })
                    .collect();
                graph.push(((d.name().to_string(), r.name.clone()), ds));
            }
            for p in d.permissions() {
                let mut ds = Vec::new();
                deps(schema, d.name(), &p.expr, false, &mut ds);
                graph.push(((d.name().to_string(), p.name.clone()), ds));
            }
        }
        let mut strata: HashMap<(String, String), usize> =
            graph.iter().map(|(n, _)| (n.clone(), 0)).collect();
        loop {
            let mut changed = false;
            for (n, ds) in &graph {
                let want = ds
                    .iter()
                    .map(|(d, neg)| strata[d] + usize::from(*neg))
                    .max()
                    .unwrap_or(0);
                if want > strata[n] {
                    assert!(want <= graph.len(), "schema is not stratifiable");
                    strata.insert(n.clone(), want);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let max_stratum = strata.values().copied().max().unwrap_or(0);
        Self {
            schema,
            by_key,
            objects,
            strata,
            max_stratum,
            tuple_subjects,
        }
    }

    fn eval(&self, o: &ObjectRef, e: &Expr, facts: &HashSet<Fact>) -> bool {
        match e {
            Expr::Ref(n) => facts.contains(&(o.clone(), n.clone())),
            Expr::Arrow { tupleset, computed } => self
                .by_key
                .get(&(o.clone(), tupleset.clone()))
                .into_iter()
                .flatten()
                .filter(|s| s.relation.is_none() && !s.is_wildcard())
                .any(|s| facts.contains(&(s.object(), computed.clone()))),
            Expr::Union(items) => items.iter().any(|i| self.eval(o, i, facts)),
            Expr::Intersection(items) => items.iter().all(|i| self.eval(o, i, facts)),
            Expr::Exclusion(l, r) => self.eval(o, l, facts) && !self.eval(o, r, facts),
        }
    }

    fn holds(&self, o: &ObjectRef, name: &str, s: &SubjectRef, facts: &HashSet<Fact>) -> bool {
        if s.relation.as_deref() == Some(name)
            && s.subject_type == o.object_type
            && s.subject_id == o.object_id
        {
            return true;
        }
        let d = self.schema.definition(&o.object_type).unwrap();
        match d.member(name).unwrap() {
            Member::Relation(_) => self
                .by_key
                .get(&(o.clone(), name.to_string()))
                .into_iter()
                .flatten()
                .any(|t| {
                    if t.is_wildcard() {
                        s.relation.is_none() && s.subject_type == t.subject_type
                    } else if let Some(r) = &t.relation {
                        facts.contains(&(t.object(), r.clone()))
                    } else {
                        t == s
                    }
                }),
            Member::Permission(i) => self.eval(o, &d.permissions()[i].expr, facts),
        }
    }

    /// Every fact `(object, relation)` that holds for `s`.
    pub(crate) fn facts(&self, s: &SubjectRef) -> HashSet<Fact> {
        let mut objects = self.objects.clone();
        if !s.is_wildcard() {
            objects.insert(s.object());
        }
        let mut facts = HashSet::new();
        for stratum in 0..=self.max_stratum {
            loop {
                let mut changed = false;
                for o in &objects {
                    let Some(d) = self.schema.definition(&o.object_type) else {
                        continue;
                    };
                    let names = d
                        .relations()
                        .iter()
                        .map(|r| &r.name)
                        .chain(d.permissions().iter().map(|p| &p.name));
                    for n in names {
                        if self.strata[&(o.object_type.clone(), n.clone())] != stratum {
                            continue;
                        }
                        let key = (o.clone(), n.clone());
                        if !facts.contains(&key) && self.holds(o, n, s, &facts) {
                            facts.insert(key);
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        facts
    }

    pub(crate) fn list_objects(
        &self,
        facts: &HashSet<Fact>,
        ty: &str,
        rel: &str,
    ) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> = facts
            .iter()
            .filter(|(o, r)| o.object_type == ty && r == rel)
            .map(|(o, _)| o.clone())
            .collect();
        out.sort();
        out
    }

    /// Candidate subjects for list_subjects: every non-userset subject stored in a tuple.
    pub(crate) fn tuple_subjects(&self) -> &BTreeSet<SubjectRef> {
        &self.tuple_subjects
    }
}
