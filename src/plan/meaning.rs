//! The third layer of validation: what the plans mean taken together, still
//! without a database. The same leaver twice, a recipient who is the leaver,
//! a recipient who is leaving in the same set of plans.

use std::collections::HashMap;

use super::resolved::{Location, Plan};
use crate::diagnostic::Diagnostic;

/// A finding about one plan's meaning among the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeaningFinding {
    /// Index of the plan concerned in the slice checked.
    pub plan: usize,
    /// The blocker code (DESIGN §3).
    pub code: &'static str,
    pub at: Location,
    pub message: String,
    pub hint: &'static str,
}

impl MeaningFinding {
    pub fn diagnostic(&self) -> Diagnostic {
        self.at
            .diagnostic(self.message.clone())
            .with_code(self.code)
            .with_hint(self.hint)
    }
}

/// Every meaning finding about `plans`, in plan order.
pub fn check(plans: &[Plan]) -> Vec<MeaningFinding> {
    let mut leavers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, plan) in plans.iter().enumerate() {
        leavers
            .entry(plan.user.value.as_str())
            .or_default()
            .push(index);
    }
    let mut findings = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        findings.extend(duplicate(plans, index, &leavers[plan.user.value.as_str()]));
        findings.extend(recipients(plans, index, &leavers));
    }
    findings
}

fn duplicate(plans: &[Plan], index: usize, same: &[usize]) -> Option<MeaningFinding> {
    let other = same.iter().copied().find(|&other| other != index)?;
    let there = &plans[other].user.at;
    Some(MeaningFinding {
        plan: index,
        code: "duplicate-user",
        at: plans[index].user.at.clone(),
        message: format!(
            "`{}` is also planned at {}:{}",
            plans[index].user.value,
            there.file.display(),
            there.line
        ),
        hint: "keep one plan per leaver",
    })
}

fn recipients(
    plans: &[Plan],
    index: usize,
    leavers: &HashMap<&str, Vec<usize>>,
) -> Vec<MeaningFinding> {
    let plan = &plans[index];
    let mut findings: Vec<MeaningFinding> = Vec::new();
    let mut fields: Vec<Vec<&str>> = Vec::new();
    for (category, to) in plan.recipients() {
        let name = to.value.as_str();
        let code = if name == plan.user.value.as_str() {
            "target-is-user"
        } else if leavers.contains_key(name) {
            "target-leaving"
        } else {
            continue;
        };
        let same = |finding: &MeaningFinding| finding.code == code && finding.message == name;
        match findings.iter().position(same) {
            Some(known) => fields[known].push(category.field()),
            None => {
                findings.push(MeaningFinding {
                    plan: index,
                    code,
                    at: to.at.clone(),
                    message: name.to_string(),
                    hint: "name someone who stays",
                });
                fields.push(vec![category.field()]);
            }
        }
    }
    for (finding, fields) in findings.iter_mut().zip(fields) {
        let what = fields
            .iter()
            .map(|field| format!("`{field}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let name = &finding.message;
        finding.message = match finding.code {
            "target-is-user" => format!("{what} would go to the leaver `{name}`"),
            _ => format!("{what} would go to `{name}`, who is leaving in the same batch"),
        };
    }
    findings
}
