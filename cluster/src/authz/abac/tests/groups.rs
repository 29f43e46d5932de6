//! all / any / none semantics and nesting.

use serde_json::{Value, json};

use super::{Conditions, ctx, parse};

fn yes() -> Value {
    json!({"attribute": "user.department", "operator": "equals", "value": "eng"})
}

fn no() -> Value {
    json!({"attribute": "user.department", "operator": "equals", "value": "hr"})
}

fn eval(json: Value) -> bool {
    parse(json).matches(&ctx())
}

#[test]
fn empty_object_matches_everything() {
    assert!(eval(json!({})));
    assert!(eval(json!({"all": [], "any": [], "none": []})));
    assert!(Conditions::match_all().matches(&ctx()));
    assert!(Conditions::match_all().matches(&super::AbacContext::default()));
}

#[test]
fn all_requires_every_item() {
    assert!(eval(json!({"all": [yes(), yes()]})));
    assert!(!eval(json!({"all": [yes(), no()]})));
}

#[test]
fn any_requires_one_item() {
    assert!(eval(json!({"any": [no(), yes()]})));
    assert!(!eval(json!({"any": [no(), no()]})));
}

#[test]
fn none_forbids_every_item() {
    assert!(eval(json!({"none": [no(), no()]})));
    assert!(!eval(json!({"none": [no(), yes()]})));
}

#[test]
fn all_any_none_combine_with_and() {
    assert!(eval(
        json!({"all": [yes()], "any": [no(), yes()], "none": [no()]})
    ));
    assert!(!eval(
        json!({"all": [yes()], "any": [no()], "none": [no()]})
    ));
    assert!(!eval(
        json!({"all": [yes()], "any": [yes()], "none": [yes()]})
    ));
}

#[test]
fn nested_groups() {
    assert!(eval(
        json!({"all": [yes(), {"any": [no(), {"all": [yes()]}]}]})
    ));
    assert!(!eval(
        json!({"all": [yes(), {"any": [no(), {"none": [yes()]}]}]})
    ));
    assert!(eval(json!({"all": [{}]})));
    assert!(!eval(json!({"none": [{}]})));
}
