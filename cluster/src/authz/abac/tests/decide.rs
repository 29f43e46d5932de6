//! Policy combination: priorities, deny-overrides, targets.

use serde_json::json;

use super::super::{Effect, Policy, decide};
use super::{Conditions, ctx, parse};

fn policy(id: u64, effect: Effect, priority: i64) -> Policy {
    Policy {
        id,
        name: format!("p{id}"),
        resource_type: "document".to_owned(),
        action: "read".to_owned(),
        effect,
        priority,
        conditions: Conditions::match_all(),
        active: true,
    }
}

fn failing_conditions() -> Conditions {
    parse(json!({"all": [{"attribute": "user.department", "operator": "equals", "value": "hr"}]}))
}

#[test]
fn no_policies_denies() {
    let decision = decide(&[], &ctx());
    assert!(!decision.allowed);
    assert!(decision.matched.is_empty());
    assert_eq!(
        decision.reason,
        "no policy allows action \"read\" on resource type \"document\""
    );
}

#[test]
fn single_allow() {
    let decision = decide(&[policy(1, Effect::Allow, 0)], &ctx());
    assert!(decision.allowed);
    assert_eq!(decision.matched, vec![(1, "p1".to_owned())]);
    assert_eq!(
        decision.reason,
        "allowed by policy \"p1\" (id 1, priority 0)"
    );
}

#[test]
fn tie_goes_to_deny() {
    let policies = [policy(1, Effect::Allow, 5), policy(2, Effect::Deny, 5)];
    let decision = decide(&policies, &ctx());
    assert!(!decision.allowed);
    assert_eq!(decision.matched, vec![(2, "p2".to_owned())]);
    assert!(decision.reason.starts_with("denied by policy \"p2\""));
}

#[test]
fn higher_allow_beats_lower_deny() {
    let policies = [policy(1, Effect::Deny, 5), policy(2, Effect::Allow, 6)];
    let decision = decide(&policies, &ctx());
    assert!(decision.allowed);
    assert_eq!(decision.matched, vec![(2, "p2".to_owned())]);
}

#[test]
fn higher_deny_beats_lower_allow() {
    let policies = [policy(1, Effect::Allow, 1), policy(2, Effect::Deny, 10)];
    assert!(!decide(&policies, &ctx()).allowed);
}

#[test]
fn inactive_policies_are_ignored() {
    let mut deny = policy(1, Effect::Deny, 100);
    deny.active = false;
    let decision = decide(&[deny.clone(), policy(2, Effect::Allow, 0)], &ctx());
    assert!(decision.allowed);
    let decision = decide(&[deny], &ctx());
    assert!(!decision.allowed);
    assert!(decision.reason.starts_with("no policy allows"));
}

#[test]
fn wildcards_and_targets() {
    let mut any_type = policy(1, Effect::Allow, 0);
    any_type.resource_type = "*".to_owned();
    let mut any_action = policy(2, Effect::Allow, 0);
    any_action.action = "*".to_owned();
    assert!(decide(&[any_type.clone()], &ctx()).allowed);
    assert!(decide(&[any_action], &ctx()).allowed);
    let mut other_type = policy(3, Effect::Deny, 9);
    other_type.resource_type = "folder".to_owned();
    let mut other_action = policy(4, Effect::Deny, 9);
    other_action.action = "write".to_owned();
    let decision = decide(&[other_type, other_action, any_type], &ctx());
    assert!(decision.allowed);
    assert_eq!(decision.matched, vec![(1, "p1".to_owned())]);
    let mut case = policy(5, Effect::Allow, 0);
    case.action = "READ".to_owned();
    assert!(!decide(&[case], &ctx()).allowed);
}

#[test]
fn conditions_gate_matching() {
    let mut deny = policy(1, Effect::Deny, 10);
    deny.conditions = failing_conditions();
    assert!(decide(&[deny.clone(), policy(2, Effect::Allow, 0)], &ctx()).allowed);
    let mut allow = policy(3, Effect::Allow, 0);
    allow.conditions = failing_conditions();
    assert!(!decide(&[allow], &ctx()).allowed);
}

#[test]
fn matched_lists_the_deciding_tier_by_id() {
    let policies = [
        policy(9, Effect::Deny, 3),
        policy(4, Effect::Deny, 3),
        policy(7, Effect::Allow, 3),
        policy(1, Effect::Deny, 1),
    ];
    let decision = decide(&policies, &ctx());
    assert!(!decision.allowed);
    assert_eq!(
        decision.matched,
        vec![(4, "p4".to_owned()), (9, "p9".to_owned())]
    );
    assert_eq!(
        decision.reason,
        "denied by policy \"p4\" (id 4, priority 3) and 1 more"
    );
    let allows = [
        policy(8, Effect::Allow, 2),
        policy(3, Effect::Allow, 2),
        policy(5, Effect::Allow, 1),
    ];
    let decision = decide(&allows, &ctx());
    assert_eq!(
        decision.matched,
        vec![(3, "p3".to_owned()), (8, "p8".to_owned())]
    );
}

#[test]
fn negative_priorities() {
    let policies = [policy(1, Effect::Deny, -5), policy(2, Effect::Allow, -1)];
    assert!(decide(&policies, &ctx()).allowed);
}
