//! The plan model through the library: fingerprints, and properties that
//! hold for every plan (round trips) and every input (no panics).

use std::path::Path;

use handover::plan::load::load_text;
use handover::plan::{CATEGORIES, Handling, Plan};
use proptest::prelude::*;

fn one(text: &str) -> Plan {
    let mut plans = load_text(Path::new("plan.yaml"), text).expect("valid plan");
    assert_eq!(plans.len(), 1);
    plans.remove(0)
}

fn fingerprint(text: &str) -> String {
    one(text).fingerprint
}

/// What a plan means, without where in a file it says it.
fn meaning(plan: &Plan) -> String {
    let mut out = format!(
        "{}|{:?}|{:?}|{:?}|{}",
        plan.user.value,
        plan.reason,
        plan.not_before,
        plan.support_ticket,
        plan.allow_pending_claims
    );
    for category in CATEGORIES {
        let handling = match plan.handling(category) {
            Handling::Unassigned => "-".to_string(),
            Handling::Cancel => "cancel".to_string(),
            Handling::MoveTo(to) => to.value.to_string(),
        };
        out.push_str(&format!("|{}={handling}", category.field()));
    }
    out
}

const BASE: &str = "version: 1\nuser: jsmith\nreason: Moved\ndefault_to: apatel\n\
                    inbox: { forward_to: reception }\n";

#[test]
fn layout_comments_and_key_order_do_not_change_the_fingerprint() {
    let reordered = "# leaving in spring\ninbox:\n  forward_to: reception   # front desk\n\
                     default_to: apatel\nreason: \"Moved\"\nuser: 'jsmith'\nversion: 1\n";
    assert_eq!(fingerprint(BASE), fingerprint(reordered));
}

#[test]
fn moving_a_field_into_defaults_does_not_change_the_fingerprint() {
    let batch = "version: 1\ndefaults:\n  reason: Moved\n  inbox: { forward_to: reception }\n\
                 plans:\n  - user: jsmith\n    default_to: apatel\n";
    let plans = load_text(Path::new("batch.yaml"), batch).unwrap();
    assert_eq!(plans[0].fingerprint, fingerprint(BASE));
}

#[test]
fn default_to_and_named_recipients_mean_the_same() {
    let spelled = "version: 1\nuser: jsmith\nreason: Moved\n\
                   appointments: { move_to: apatel }\nrecurring_qnaires: { move_to: apatel }\n\
                   sent_qnaires: { move_to: apatel }\nlabs: { transfer_to: apatel }\n\
                   inbox: { forward_to: reception }\n";
    assert_eq!(fingerprint(BASE), fingerprint(spelled));
}

#[test]
fn every_change_of_meaning_changes_the_fingerprint() {
    let base = fingerprint(BASE);
    let changes = [
        ("user: jsmith", "user: jsmith2"),
        ("reason: Moved", "reason: Moved away"),
        ("default_to: apatel", "default_to: bchen"),
        ("forward_to: reception", "forward_to: nurse.lee"),
        (
            "inbox: { forward_to: reception }",
            "inbox: { discard: true }",
        ),
    ];
    for (from, to) in changes {
        let changed = BASE.replace(from, to);
        assert_ne!(fingerprint(&changed), base, "{from} -> {to}");
    }
    let additions = [
        "not_before: 2027-01-04\n",
        "appointments: { cancel: true }\n",
        "sent_qnaires: { move_to: bchen }\n",
        "labs: { transfer_to: apatel, support_ticket: SR-1 }\n",
        "billing: { allow_pending_claims: true }\n",
    ];
    for addition in additions {
        let changed = format!("{BASE}{addition}");
        assert_ne!(fingerprint(&changed), base, "{addition}");
    }
}

#[test]
fn an_explicit_default_billing_policy_means_the_same() {
    let explicit = format!("{BASE}billing: {{ allow_pending_claims: false }}\n");
    assert_eq!(fingerprint(BASE), fingerprint(&explicit));
}

/// A plan as a generator sees it: each category unset, moved or cancelled.
#[derive(Debug, Clone)]
struct Spec {
    user: String,
    reason: Option<String>,
    not_before: Option<(i16, i8, i8)>,
    default_to: Option<String>,
    categories: Vec<Option<Option<String>>>,
    inbox: Option<Option<String>>,
    labs: Option<(String, Option<String>)>,
    allow_pending_claims: Option<bool>,
}

fn username() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._@-]{1,20}"
}

fn reassign() -> impl Strategy<Value = Option<Option<String>>> {
    proptest::option::of(proptest::option::of(username()))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        username(),
        proptest::option::of("[ -~]{0,60}"),
        proptest::option::of((2000i16..2100, 1i8..=12, 1i8..=28)),
        proptest::option::of(username()),
        proptest::collection::vec(reassign(), 3),
        reassign(),
        proptest::option::of((username(), proptest::option::of("[A-Z]{2}-[0-9]{1,6}"))),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(user, reason, not_before, default_to, categories, inbox, labs, allow)| Spec {
                user,
                reason,
                not_before,
                default_to,
                categories,
                inbox,
                labs,
                allow_pending_claims: allow,
            },
        )
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Writes a spec as YAML, block style or flow style.
fn to_yaml(spec: &Spec, flow: bool) -> String {
    let mut fields = vec![("version".to_string(), "1".to_string())];
    fields.push(("user".into(), quoted(&spec.user)));
    if let Some(reason) = &spec.reason {
        fields.push(("reason".into(), quoted(reason)));
    }
    if let Some((y, m, d)) = spec.not_before {
        fields.push(("not_before".into(), format!("{y:04}-{m:02}-{d:02}")));
    }
    if let Some(to) = &spec.default_to {
        fields.push(("default_to".into(), quoted(to)));
    }
    let names = ["appointments", "recurring_qnaires", "sent_qnaires"];
    for (name, category) in names.iter().zip(&spec.categories) {
        match category {
            Some(Some(to)) => {
                fields.push((name.to_string(), format!("{{ move_to: {} }}", quoted(to))))
            }
            Some(None) => fields.push((name.to_string(), "{ cancel: true }".into())),
            None => {}
        }
    }
    match &spec.inbox {
        Some(Some(to)) => {
            fields.push(("inbox".into(), format!("{{ forward_to: {} }}", quoted(to))))
        }
        Some(None) => fields.push(("inbox".into(), "{ discard: true }".into())),
        None => {}
    }
    if let Some((to, ticket)) = &spec.labs {
        let ticket = ticket
            .as_ref()
            .map(|t| format!(", support_ticket: {}", quoted(t)));
        fields.push((
            "labs".into(),
            format!(
                "{{ transfer_to: {}{} }}",
                quoted(to),
                ticket.unwrap_or_default()
            ),
        ));
    }
    if let Some(allow) = spec.allow_pending_claims {
        fields.push((
            "billing".into(),
            format!("{{ allow_pending_claims: {allow} }}"),
        ));
    }
    if flow {
        fields.reverse();
        let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{ {} }}\n", inner.join(", "))
    } else {
        fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
    }
}

/// What the loaded plan should mean, written the same way as `meaning`.
fn expected(spec: &Spec) -> String {
    let default = |category: &Option<Option<String>>| match category {
        Some(Some(to)) => to.clone(),
        Some(None) => "cancel".to_string(),
        None => spec.default_to.clone().unwrap_or_else(|| "-".to_string()),
    };
    let labs = match &spec.labs {
        Some((to, _)) => to.clone(),
        None => spec.default_to.clone().unwrap_or_else(|| "-".to_string()),
    };
    let date = spec.not_before.map(|(y, m, d)| jiff::civil::date(y, m, d));
    let ticket = spec.labs.as_ref().and_then(|(_, ticket)| ticket.clone());
    format!(
        "{}|{:?}|{:?}|{:?}|{}|appointments={}|recurring_qnaires={}|sent_qnaires={}|inbox={}|labs={}",
        spec.user,
        spec.reason,
        date,
        ticket,
        spec.allow_pending_claims.unwrap_or(false),
        default(&spec.categories[0]),
        default(&spec.categories[1]),
        default(&spec.categories[2]),
        default(&spec.inbox),
        labs
    )
}

proptest! {
    #[test]
    fn any_valid_plan_loads_back_equal(spec in spec()) {
        let block = one(&to_yaml(&spec, false));
        let flow = one(&to_yaml(&spec, true));
        prop_assert_eq!(meaning(&block), expected(&spec));
        prop_assert_eq!(meaning(&flow), meaning(&block));
        prop_assert_eq!(flow.fingerprint, block.fingerprint);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = load_text(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn arbitrary_yaml_shapes_never_panic(text in "[-:{}\\[\\],&*!|>'\"#<@ a-z0-9\n]{0,120}") {
        let _ = load_text(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = handover::plan::load(&[path]);
    }
}
