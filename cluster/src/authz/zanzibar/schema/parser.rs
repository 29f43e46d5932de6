//! Recursive-descent parser from tokens to unvalidated [`Definition`]s.
//!
//! Grammar (`+`, `&`, `-` share one precedence level and associate to the left):
//! ```text
//! schema     := definition*
//! definition := "definition" TYPE "{" item* "}"
//! item       := "relation" NAME ":" allowed ("|" allowed)*
//!             | "permission" NAME "=" expr
//! allowed    := TYPE | TYPE ":" "*" | TYPE "#" NAME
//! expr       := term (("+" | "&" | "-") term)*
//! term       := NAME | NAME "->" NAME | "(" expr ")"
//! ```

use super::super::{MAX_DEFINITIONS, MAX_EXPR_DEPTH, MAX_RELATIONS_PER_TYPE, ZanzibarError};
use super::lexer::{Tok, Token};
use super::model::{AllowedSubject, Definition, Expr, PermissionDef, RelationDef};

/// Parses a token stream into definitions (names and references are not checked here).
pub(crate) fn parse(tokens: &[Token]) -> Result<Vec<Definition>, ZanzibarError> {
    let mut p = Parser { tokens, pos: 0 };
    let mut defs = Vec::new();
    while p.peek().is_some() {
        if defs.len() >= MAX_DEFINITIONS {
            return Err(p.err(format!("too many definitions (max {MAX_DEFINITIONS})")));
        }
        defs.push(p.definition()?);
    }
    Ok(defs)
}

#[derive(Clone, Copy)]
enum Op {
    Union,
    Intersection,
    Exclusion,
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(1, |t| t.line)
    }

    fn err(&self, message: impl Into<String>) -> ZanzibarError {
        ZanzibarError::schema(message, Some(self.line()))
    }

    fn unexpected(&self, expected: &str) -> ZanzibarError {
        match self.peek() {
            Some(t) => self.err(format!("expected {expected}, found {}", t.describe())),
            None => self.err(format!("expected {expected}, found end of input")),
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), ZanzibarError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(&tok.describe()))
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, ZanzibarError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), ZanzibarError> {
        match self.peek() {
            Some(Tok::Ident(s)) if s == kw => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.unexpected(&format!("`{kw}`"))),
        }
    }

    fn definition(&mut self) -> Result<Definition, ZanzibarError> {
        self.keyword("definition")?;
        let line = self.line();
        let name = self.ident("a type name")?;
        let mut def = Definition::new(name, line);
        self.expect(&Tok::LBrace)?;
        loop {
            let line = self.line();
            let kind = match self.peek() {
                Some(Tok::RBrace) => {
                    self.pos += 1;
                    return Ok(def);
                }
                Some(Tok::Ident(k)) if k == "relation" || k == "permission" => k.clone(),
                _ => return Err(self.unexpected("`relation`, `permission` or `}`")),
            };
            self.pos += 1;
            if def.member_count() >= MAX_RELATIONS_PER_TYPE {
                return Err(ZanzibarError::schema(
                    format!(
                        "too many relations and permissions in `{}` (max {MAX_RELATIONS_PER_TYPE})",
                        def.name()
                    ),
                    Some(line),
                ));
            }
            let name = self.ident("a relation or permission name")?;
            let added = if kind == "relation" {
                self.expect(&Tok::Colon)?;
                let allowed = self.allowed_list()?;
                def.add_relation(RelationDef {
                    name: name.clone(),
                    allowed,
                    line,
                })
            } else {
                self.expect(&Tok::Eq)?;
                let expr = self.expr(0)?;
                def.add_permission(PermissionDef {
                    name: name.clone(),
                    expr,
                    line,
                })
            };
            if !added {
                return Err(ZanzibarError::schema(
                    format!(
                        "duplicate relation or permission `{name}` in `{}`",
                        def.name()
                    ),
                    Some(line),
                ));
            }
        }
    }

    fn allowed_list(&mut self) -> Result<Vec<AllowedSubject>, ZanzibarError> {
        let mut out = vec![self.allowed()?];
        while self.eat(&Tok::Pipe) {
            out.push(self.allowed()?);
        }
        Ok(out)
    }

    fn allowed(&mut self) -> Result<AllowedSubject, ZanzibarError> {
        let t = self.ident("a subject type")?;
        if self.eat(&Tok::Colon) {
            self.expect(&Tok::Star)?;
            return Ok(AllowedSubject::Wildcard(t));
        }
        if self.eat(&Tok::Hash) {
            let relation = self.ident("a relation name after `#`")?;
            return Ok(AllowedSubject::Userset {
                subject_type: t,
                relation,
            });
        }
        Ok(AllowedSubject::Type(t))
    }

    fn op(&self) -> Option<Op> {
        match self.peek()? {
            Tok::Plus => Some(Op::Union),
            Tok::Amp => Some(Op::Intersection),
            Tok::Minus => Some(Op::Exclusion),
            _ => None,
        }
    }

    fn expr(&mut self, nesting: usize) -> Result<Expr, ZanzibarError> {
        if nesting > MAX_EXPR_DEPTH {
            return Err(self.err(format!(
                "expression nested too deeply (max {MAX_EXPR_DEPTH})"
            )));
        }
        let mut acc = self.term(nesting)?;
        let mut depth = acc.depth();
        while let Some(op) = self.op() {
            self.pos += 1;
            let rhs = self.term(nesting)?;
            let rhs_depth = rhs.depth();
            (acc, depth) = combine(op, (acc, depth), (rhs, rhs_depth));
            if depth > MAX_EXPR_DEPTH {
                return Err(self.err(format!(
                    "expression nested too deeply (max {MAX_EXPR_DEPTH})"
                )));
            }
        }
        Ok(acc)
    }

    fn term(&mut self, nesting: usize) -> Result<Expr, ZanzibarError> {
        if self.eat(&Tok::LParen) {
            let e = self.expr(nesting + 1)?;
            self.expect(&Tok::RParen)?;
            return Ok(e);
        }
        let name = self.ident("a relation name or `(`")?;
        if self.eat(&Tok::Arrow) {
            let computed = self.ident("a relation or permission name after `->`")?;
            return Ok(Expr::Arrow {
                tupleset: name,
                computed,
            });
        }
        Ok(Expr::Ref(name))
    }
}

/// Builds `lhs op rhs` and its depth, flattening nested unions and intersections
/// (both are associative). Depths are tracked incrementally to keep parsing linear.
fn combine(op: Op, (lhs, ld): (Expr, usize), (rhs, rd): (Expr, usize)) -> (Expr, usize) {
    match op {
        Op::Exclusion => (
            Expr::Exclusion(Box::new(lhs), Box::new(rhs)),
            1 + ld.max(rd),
        ),
        Op::Union => {
            let (mut items, lc) = match lhs {
                Expr::Union(v) => (v, ld.saturating_sub(1)),
                other => (vec![other], ld),
            };
            let rc = match rhs {
                Expr::Union(v) => {
                    items.extend(v);
                    rd.saturating_sub(1)
                }
                other => {
                    items.push(other);
                    rd
                }
            };
            (Expr::Union(items), 1 + lc.max(rc))
        }
        Op::Intersection => {
            let (mut items, lc) = match lhs {
                Expr::Intersection(v) => (v, ld.saturating_sub(1)),
                other => (vec![other], ld),
            };
            let rc = match rhs {
                Expr::Intersection(v) => {
                    items.extend(v);
                    rd.saturating_sub(1)
                }
                other => {
                    items.push(other);
                    rd
                }
            };
            (Expr::Intersection(items), 1 + lc.max(rc))
        }
    }
}
