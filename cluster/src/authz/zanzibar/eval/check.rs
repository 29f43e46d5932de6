//! The check evaluator.
//!
//! Evaluation is a depth-first search over frames `(object, relation-or-permission)` for a
//! fixed subject. Semantics and bounds:
//! - a frame already on the current path contributes `false` (least fixpoint for data cycles);
//! - more than [`MAX_DEPTH`] nested frames is [`ZanzibarError::DepthExceeded`];
//! - more than [`MAX_CHECK_STEPS`] frame visits is [`ZanzibarError::WorkLimitExceeded`].
//!
//! Unions, arrows and usersets form "OR regions": a region is searched once per frame (a
//! visited set), and stops at the first `true`. Operands of `&` and `-` are evaluated as
//! separate regions; their results are memoized per check when they did not depend on a
//! frame outside the region being cut (which would make the result path dependent).
//! Frames found `true` are memoized for the whole [`Checker`] (one subject).

use std::collections::{HashMap, HashSet};

use super::super::graph::{ObjKey, RelKey, Sym, SymHashBuilder, TupleGraph};
use super::super::{
    Expr, MAX_CHECK_STEPS, MAX_DEPTH, Member, ObjectRef, Schema, SubjectRef, ZanzibarError,
};

/// A frame: one relation or permission on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Frame {
    obj: ObjKey,
    def: usize,
    member: Member,
}

/// The subject being checked, in symbol form.
#[derive(Debug, Clone, Copy)]
enum SubjectQ {
    Direct(ObjKey),
    Wildcard(Sym),
    Userset { frame: Frame, key: RelKey },
}

/// One OR region of the search.
struct Region {
    start: usize,
    visited: HashSet<Frame, SymHashBuilder>,
    min_cut: usize,
}

impl Region {
    fn new(start: usize) -> Self {
        Self {
            start,
            visited: HashSet::default(),
            min_cut: usize::MAX,
        }
    }
}

type Outcome = Result<bool, ZanzibarError>;

/// Evaluates checks for one subject; memoized results are shared across its checks.
pub(crate) struct Checker<'a> {
    schema: &'a Schema,
    graph: &'a TupleGraph,
    subject: SubjectQ,
    virtuals: Vec<String>,
    path: Vec<Frame>,
    on_path: HashMap<Frame, usize, SymHashBuilder>,
    known_true: HashSet<Frame, SymHashBuilder>,
    regions: HashMap<(ObjKey, usize), Option<bool>, SymHashBuilder>,
    type_defs: HashMap<Sym, Option<usize>, SymHashBuilder>,
    members: HashMap<(usize, Sym), Option<Member>, SymHashBuilder>,
    rel_syms: HashMap<(usize, Member), Option<Sym>, SymHashBuilder>,
    steps: usize,
}

impl<'a> Checker<'a> {
    /// Builds a checker for `subject`. The subject must already be validated.
    pub(crate) fn new(
        schema: &'a Schema,
        graph: &'a TupleGraph,
        subject: &SubjectRef,
    ) -> Result<Self, ZanzibarError> {
        let mut c = Self {
            schema,
            graph,
            subject: SubjectQ::Wildcard(0),
            virtuals: Vec::new(),
            path: Vec::new(),
            on_path: HashMap::default(),
            known_true: HashSet::default(),
            regions: HashMap::default(),
            type_defs: HashMap::default(),
            members: HashMap::default(),
            rel_syms: HashMap::default(),
            steps: 0,
        };
        let ty = c.sym(&subject.subject_type);
        c.subject = if subject.is_wildcard() {
            SubjectQ::Wildcard(ty)
        } else {
            let obj = ObjKey {
                ty,
                id: c.sym(&subject.subject_id),
            };
            match &subject.relation {
                None => SubjectQ::Direct(obj),
                Some(r) => {
                    let (def, member) = super::resolve(schema, &subject.subject_type, r)?;
                    SubjectQ::Userset {
                        frame: Frame { obj, def, member },
                        key: RelKey { obj, rel: c.sym(r) },
                    }
                }
            }
        };
        Ok(c)
    }

    /// Symbol of a string: the graph's, or a private one that matches nothing in the graph.
    fn sym(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.graph.sym(s) {
            return sym;
        }
        let pos = match self.virtuals.iter().position(|v| v == s) {
            Some(p) => p,
            None => {
                self.virtuals.push(s.to_string());
                self.virtuals.len() - 1
            }
        };
        Sym::MAX - Sym::try_from(pos).unwrap_or(0)
    }

    /// Checks `object#member` (member of definition `def`) for the subject.
    pub(crate) fn check(&mut self, object: &ObjectRef, def: usize, member: Member) -> Outcome {
        let obj = ObjKey {
            ty: self.sym(&object.object_type),
            id: self.sym(&object.object_id),
        };
        self.steps = 0;
        self.path.clear();
        self.on_path.clear();
        let mut root = Region::new(0);
        self.eval_frame(Frame { obj, def, member }, &mut root)
    }

    fn def_of(&mut self, ty: Sym) -> Option<usize> {
        if let Some(d) = self.type_defs.get(&ty) {
            return *d;
        }
        let d = self.schema.definition_index(self.graph.str(ty));
        self.type_defs.insert(ty, d);
        d
    }

    fn member_of(&mut self, def: usize, rel: Sym) -> Option<Member> {
        if let Some(m) = self.members.get(&(def, rel)) {
            return *m;
        }
        let m = self
            .schema
            .definitions()
            .get(def)
            .and_then(|d| d.member(self.graph.str(rel)));
        self.members.insert((def, rel), m);
        m
    }

    fn rel_sym(&mut self, def: usize, member: Member) -> Option<Sym> {
        if let Some(s) = self.rel_syms.get(&(def, member)) {
            return *s;
        }
        let s = self
            .schema
            .definitions()
            .get(def)
            .and_then(|d| d.member_name(member))
            .and_then(|n| self.graph.sym(n));
        self.rel_syms.insert((def, member), s);
        s
    }

    fn eval_frame(&mut self, f: Frame, region: &mut Region) -> Outcome {
        self.steps += 1;
        if self.steps > MAX_CHECK_STEPS {
            return Err(ZanzibarError::WorkLimitExceeded {
                max: MAX_CHECK_STEPS,
            });
        }
        if matches!(self.subject, SubjectQ::Userset { frame, .. } if frame == f) {
            return Ok(true);
        }
        if self.known_true.contains(&f) {
            return Ok(true);
        }
        if let Some(&depth) = self.on_path.get(&f) {
            region.min_cut = region.min_cut.min(depth);
            return Ok(false);
        }
        if !region.visited.insert(f) {
            return Ok(false);
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(ZanzibarError::DepthExceeded { max: MAX_DEPTH });
        }
        self.on_path.insert(f, self.path.len());
        self.path.push(f);
        let result = self.eval_member(f, region);
        self.path.pop();
        self.on_path.remove(&f);
        if matches!(result, Ok(true)) {
            self.known_true.insert(f);
        }
        result
    }

    fn eval_member(&mut self, f: Frame, region: &mut Region) -> Outcome {
        let schema = self.schema;
        let Some(def) = schema.definitions().get(f.def) else {
            return Ok(false);
        };
        match f.member {
            Member::Relation(_) => self.eval_relation(f, region),
            Member::Permission(i) => match def.permissions().get(i) {
                Some(p) => self.eval_expr(&p.expr, f.obj, f.def, region),
                None => Ok(false),
            },
        }
    }

    fn eval_relation(&mut self, f: Frame, region: &mut Region) -> Outcome {
        let graph = self.graph;
        let Some(rel) = self.rel_sym(f.def, f.member) else {
            return Ok(false);
        };
        let Some(entry) = graph.entry(&RelKey { obj: f.obj, rel }) else {
            return Ok(false);
        };
        let direct = match self.subject {
            SubjectQ::Direct(s) => entry.contains_direct(&s) || entry.has_wildcard(s.ty),
            SubjectQ::Wildcard(ty) => entry.has_wildcard(ty),
            SubjectQ::Userset { key, .. } => entry.contains_userset(&key),
        };
        if direct {
            return Ok(true);
        }
        let mut first_err = None;
        for u in entry.usersets() {
            let Some(def) = self.def_of(u.obj.ty) else {
                continue;
            };
            let Some(member) = self.member_of(def, u.rel) else {
                continue;
            };
            let frame = Frame {
                obj: u.obj,
                def,
                member,
            };
            match self.eval_frame(frame, region) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(false), Err)
    }

    fn eval_expr(
        &mut self,
        expr: &'a Expr,
        obj: ObjKey,
        def: usize,
        region: &mut Region,
    ) -> Outcome {
        let schema = self.schema;
        match expr {
            Expr::Ref(name) => {
                let Some(member) = schema.definitions().get(def).and_then(|d| d.member(name))
                else {
                    return Ok(false);
                };
                self.eval_frame(Frame { obj, def, member }, region)
            }
            Expr::Arrow { tupleset, computed } => self.eval_arrow(tupleset, computed, obj, region),
            Expr::Union(items) => {
                let mut first_err = None;
                for e in items {
                    match self.eval_expr(e, obj, def, region) {
                        Ok(true) => return Ok(true),
                        Ok(false) => {}
                        Err(err) => {
                            first_err.get_or_insert(err);
                        }
                    }
                }
                first_err.map_or(Ok(false), Err)
            }
            Expr::Intersection(items) => {
                for e in items {
                    if !self.eval_region(e, obj, def, region)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Exclusion(l, r) => {
                if !self.eval_region(l, obj, def, region)? {
                    return Ok(false);
                }
                Ok(!self.eval_region(r, obj, def, region)?)
            }
        }
    }

    fn eval_arrow(
        &mut self,
        tupleset: &str,
        computed: &str,
        obj: ObjKey,
        region: &mut Region,
    ) -> Outcome {
        let (graph, schema) = (self.graph, self.schema);
        let Some(rel) = graph.sym(tupleset) else {
            return Ok(false);
        };
        let Some(entry) = graph.entry(&RelKey { obj, rel }) else {
            return Ok(false);
        };
        let mut first_err = None;
        for s in entry.direct() {
            let Some(def) = self.def_of(s.ty) else {
                continue;
            };
            let Some(member) = schema
                .definitions()
                .get(def)
                .and_then(|d| d.member(computed))
            else {
                continue;
            };
            match self.eval_frame(
                Frame {
                    obj: s,
                    def,
                    member,
                },
                region,
            ) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(false), Err)
    }

    /// Evaluates an operand of `&` / `-` as its own OR region, memoizing exact results.
    fn eval_region(
        &mut self,
        expr: &'a Expr,
        obj: ObjKey,
        def: usize,
        outer: &mut Region,
    ) -> Outcome {
        let key = (obj, std::ptr::from_ref(expr) as usize);
        match self.regions.get(&key) {
            Some(Some(v)) => return Ok(*v),
            Some(None) => {
                // Re-entered while being computed: a cycle; depend on everything above.
                outer.min_cut = 0;
                return Ok(false);
            }
            None => {}
        }
        self.regions.insert(key, None);
        let mut sub = Region::new(self.path.len());
        let result = self.eval_expr(expr, obj, def, &mut sub);
        outer.min_cut = outer.min_cut.min(sub.min_cut);
        match result {
            Ok(v) if sub.min_cut >= sub.start => {
                self.regions.insert(key, Some(v));
            }
            _ => {
                self.regions.remove(&key);
            }
        }
        result
    }
}
