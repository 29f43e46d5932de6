//! Detection of permissions that depend on themselves through computed references only.
//!
//! Arrows (`a->b`) and userset subject types go through stored tuples, so they break cycles
//! at the schema level (data cycles are handled at evaluation time).

use super::super::ZanzibarError;
use super::model::{Definition, Expr, Member};

/// Returns an error naming the first cycle of computed permission references.
pub(crate) fn check_cycles(defs: &[Definition]) -> Result<(), ZanzibarError> {
    for d in defs {
        let n = d.permissions().len();
        // 0 = unvisited, 1 = on stack, 2 = done
        let mut state = vec![0u8; n];
        for start in 0..n {
            if state.get(start) != Some(&0) {
                continue;
            }
            // Iterative DFS: stack of (permission index, outgoing edges, next edge).
            let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, edges(d, start), 0)];
            set(&mut state, start, 1);
            while let Some(top) = stack.last_mut() {
                let (node, out, next) = (top.0, &top.1, top.2);
                let Some(&to) = out.get(next) else {
                    set(&mut state, node, 2);
                    stack.pop();
                    continue;
                };
                top.2 += 1;
                match state.get(to) {
                    Some(0) => {
                        set(&mut state, to, 1);
                        stack.push((to, edges(d, to), 0));
                    }
                    Some(1) => {
                        let mut names: Vec<String> = stack
                            .iter()
                            .map(|(i, _, _)| *i)
                            .skip_while(|i| *i != to)
                            .map(|i| perm_name(d, i))
                            .collect();
                        names.push(perm_name(d, to));
                        let line = d.permissions().get(to).map(|p| p.line);
                        return Err(ZanzibarError::schema(
                            format!("cyclic permission: {}", names.join(" -> ")),
                            line,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn set(state: &mut [u8], i: usize, v: u8) {
    if let Some(s) = state.get_mut(i) {
        *s = v;
    }
}

fn perm_name(d: &Definition, i: usize) -> String {
    let p = d.permissions().get(i).map_or("?", |p| p.name.as_str());
    format!("{}#{p}", d.name())
}

fn edges(d: &Definition, perm: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(p) = d.permissions().get(perm) {
        collect(d, &p.expr, &mut out);
    }
    out
}

fn collect(d: &Definition, e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Ref(name) => {
            if let Some(Member::Permission(i)) = d.member(name) {
                out.push(i);
            }
        }
        Expr::Arrow { .. } => {}
        Expr::Union(items) | Expr::Intersection(items) => {
            for i in items {
                collect(d, i, out);
            }
        }
        Expr::Exclusion(l, r) => {
            collect(d, l, out);
            collect(d, r, out);
        }
    }
}
