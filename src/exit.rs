//! The exit codes of DESIGN §7, as one small type that every command returns.

/// How a command ended. Each variant maps to one documented process exit code;
/// when a run has several outcomes (a batch of plans), the worst one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: nothing blocked, nothing left to do.
    Success,
    /// 4: work remains that a rerun will finish (e.g. a billing delivery).
    Incomplete,
    /// 3: at least one plan has blockers.
    Blocked,
    /// 1: a step failed, or the database or a file could not be used.
    Failure,
    /// 2: invalid input: usage, YAML, schema or plan meaning.
    Invalid,
    /// 5: operator unknown, wrong password, or missing permission.
    Denied,
    /// 6: another runner holds this database.
    Busy,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Invalid => 2,
            Exit::Blocked => 3,
            Exit::Incomplete => 4,
            Exit::Denied => 5,
            Exit::Busy => 6,
        }
    }

    /// The more serious of two outcomes, for summing up a batch.
    pub fn worst(self, other: Exit) -> Exit {
        self.max(other)
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn codes_match_the_design() {
        let all = [
            (Exit::Success, 0),
            (Exit::Failure, 1),
            (Exit::Invalid, 2),
            (Exit::Blocked, 3),
            (Exit::Incomplete, 4),
            (Exit::Denied, 5),
            (Exit::Busy, 6),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn worst_prefers_the_more_serious_outcome() {
        assert_eq!(Exit::Success.worst(Exit::Blocked), Exit::Blocked);
        assert_eq!(Exit::Incomplete.worst(Exit::Blocked), Exit::Blocked);
        assert_eq!(Exit::Failure.worst(Exit::Blocked), Exit::Failure);
        assert_eq!(Exit::Busy.worst(Exit::Success), Exit::Busy);
    }
}
