//! Plan files through the real binary: `validate`, `schema`, the example
//! plans, and every kind of bad input the format refuses.

mod common;

use std::fs;

use common::{fixture, handover, root, run};

#[test]
fn example_plans_are_valid() {
    let result = run(handover(&root()).args(["validate", "jobs"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, "6 plans in 5 files: valid\n");
    assert_eq!(result.stderr, "");
}

#[test]
fn committed_schema_matches_the_types() {
    let printed = run(handover(&root()).arg("schema"));
    assert_eq!(printed.code, 0);
    let committed = fs::read_to_string(root().join("schemas/plan.schema.json")).unwrap();
    assert!(
        printed.stdout == committed,
        "schemas/plan.schema.json is out of date; regenerate it with:\n  \
         cargo run -- schema > schemas/plan.schema.json"
    );
}

#[test]
fn schema_carries_descriptions_for_editors() {
    let printed = run(handover(&root()).arg("schema"));
    let schema: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
    let fields = &schema["$defs"]["PlanFields"]["properties"];
    for field in [
        "reason",
        "not_before",
        "default_to",
        "appointments",
        "inbox",
        "labs",
    ] {
        let description = fields[field]["description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "`{field}` has no description");
    }
}

/// Each bad fixture: exit 2, the file and a line:col, and what is wrong.
#[test]
fn bad_plans_are_refused_with_their_location() {
    let cases = [
        ("not-yaml.yaml", "2:7", "unclosed bracket"),
        ("empty.yaml", "1:1", "the file is empty"),
        ("not-utf8.yaml", "2:8", "not UTF-8"),
        ("unknown-field.yaml", "3:1", "unknown field `appointmnts`"),
        (
            "wrong-type.yaml",
            "3:34",
            "expected `true` or `false`, found text",
        ),
        ("missing-user.yaml", "1:1", "missing field `user`"),
        (
            "version-2.yaml",
            "1:10",
            "unsupported plan format version `2`",
        ),
        (
            "both-move-and-cancel.yaml",
            "3:15",
            "has both `move_to` and `cancel`",
        ),
        (
            "neither-move-nor-cancel.yaml",
            "3:15",
            "needs `move_to` or `cancel: true`",
        ),
        ("cancel-false.yaml", "3:30", "`cancel: false` does not say"),
        ("duplicate-key.yaml", "3:1", "duplicate key `user`"),
        ("alias.yaml", "2:12", "anchors and aliases are not allowed"),
        (
            "anchor-merge.yaml",
            "2:14",
            "anchors and aliases are not allowed",
        ),
        ("merge-key.yaml", "3:1", "merge keys (`<<`) are not allowed"),
        (
            "too-deep.yaml",
            "3:26",
            "`appointments.move_to`: expected text, found a mapping",
        ),
        (
            "not-a-date.yaml",
            "3:13",
            "`2026-02-30` is not a calendar date",
        ),
        (
            "bad-username.yaml",
            "2:7",
            "`j smith!` is not a valid username",
        ),
        ("long-username.yaml", "2:7", "is longer than 64 characters"),
        ("empty-batch.yaml", "2:8", "a batch needs at least one plan"),
    ];
    for (name, position, message) in cases {
        let path = fixture("bad").join(name);
        let result = run(handover(&root()).arg("validate").arg(&path));
        assert_eq!(result.code, 2, "{name}: {}", result.stderr);
        let first = result.stderr.lines().next().unwrap_or_default();
        let expected = format!("{}:{position}: error: ", path.display());
        assert!(first.starts_with(&expected), "{name}: {first}");
        assert!(first.contains(message), "{name}: {first}");
        assert_eq!(result.stdout, "", "{name}");
        assert!(!result.stderr.contains("panicked"), "{name}");
    }
}

#[test]
fn every_error_of_a_file_is_listed_with_hints() {
    let dir = tempfile::tempdir().unwrap();
    let text = "version: 1\nusr: jsmith\nappointments: { move_tp: apatel }\n\
                inbox: {}\nnot_before: 2026-13-01\n";
    fs::write(dir.path().join("plan.yaml"), text).unwrap();
    let result = run(handover(dir.path()).args(["validate", "plan.yaml"]));
    assert_eq!(result.code, 2);
    insta::assert_snapshot!(result.stderr);
}

#[test]
fn a_terminal_sees_the_offending_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("plan.yaml"),
        "version: 1\nuser: jsmith\ninbx: {}\n",
    )
    .unwrap();
    let result = run(handover(dir.path())
        .args(["validate", "plan.yaml"])
        .env("HANDOVER_SNIPPETS", "1"));
    assert_eq!(result.code, 2);
    assert!(result.stderr.contains("3 │ inbx: {}"), "{}", result.stderr);
    assert!(
        result.stderr.contains("did you mean `inbox`?"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_large_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\nuser: jsmith\n");
    text.push_str(&"# padding\n".repeat(110_000));
    fs::write(dir.path().join("big.yaml"), text).unwrap();
    let result = run(handover(dir.path()).args(["validate", "big.yaml"]));
    assert_eq!(result.code, 2);
    assert!(
        result
            .stderr
            .contains("big.yaml:1:1: error: the file is 1.0 MiB"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in ('a'..'i').zip('b'..='i') {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    fs::write(dir.path().join("bomb.yaml"), text).unwrap();
    let started = std::time::Instant::now();
    let result = run(handover(dir.path()).args(["validate", "bomb.yaml"]));
    assert_eq!(result.code, 2);
    assert!(
        result
            .stderr
            .contains("anchors and aliases are not allowed")
    );
    // Generous bound: an expanded bomb would take minutes and gigabytes.
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn very_deep_nesting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "version: 1\nuser: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    fs::write(dir.path().join("deep.yaml"), text).unwrap();
    let result = run(handover(dir.path()).args(["validate", "deep.yaml"]));
    assert_eq!(result.code, 2);
    assert!(
        result
            .stderr
            .contains("nesting is deeper than a plan allows"),
        "{}",
        result.stderr
    );
}

#[test]
fn missing_paths_and_empty_directories_are_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    fs::write(dir.path().join("empty/notes.txt"), "not a plan").unwrap();
    let result = run(handover(dir.path()).args(["validate", "nope.yaml", "empty"]));
    assert_eq!(result.code, 2);
    assert!(
        result
            .stderr
            .contains("nope.yaml:1:1: error: no such file or directory")
    );
    assert!(
        result
            .stderr
            .contains("empty:1:1: error: no plan files in this directory")
    );
}

#[test]
fn meaning_across_files_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.yaml"),
        "version: 1\nuser: jsmith\ndefault_to: apatel\ninbox: { forward_to: jsmith }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("b.yaml"),
        "version: 1\nplans:\n  - user: apatel\n    default_to: bchen\n  - user: jsmith\n",
    )
    .unwrap();
    let result = run(handover(dir.path()).args(["validate", "."]));
    assert_eq!(result.code, 2);
    let stderr = result.stderr;
    assert!(
        stderr.contains(
            "./a.yaml:2:7: error: `user`: `jsmith` is also planned at ./b.yaml:5 [duplicate-user]"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("./b.yaml:5:11: error: `plans[1].user`: `jsmith` is also planned at ./a.yaml:2 [duplicate-user]"), "{stderr}");
    assert!(stderr.contains("./a.yaml:4:22: error: `inbox.forward_to`: `inbox` would go to the leaver `jsmith` [target-is-user]"), "{stderr}");
    assert!(stderr.contains("./a.yaml:3:13: error: `default_to`: `appointments`, `recurring_qnaires`, `sent_qnaires`, `labs` would go to `apatel`, who is leaving in the same batch [target-leaving]"), "{stderr}");
}

#[test]
fn a_batch_file_and_its_defaults_are_valid() {
    let result = run(handover(&root()).args(["validate", "jobs/02-batch-end-of-term.yaml"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(result.stdout, "2 plans in 1 file: valid\n");
}
