//! Schedule collisions computed from two sorted schedules in one pass, the
//! same for every backend: how many of the moving appointments overlap any
//! of the recipient's own, and the earliest that does.

/// `moving` and `own` are (start, end) pairs sorted by start; any ordered
/// type works (the UTC text form sorts in time order). Two intervals
/// collide when each starts before the other ends.
pub fn collisions<T: Ord + Clone>(moving: &[(T, T)], own: &[(T, T)]) -> (u64, Option<T>) {
    // latest_end[k]: the latest end among the first k of `own`.
    let mut latest_end: Vec<Option<&T>> = Vec::with_capacity(own.len() + 1);
    latest_end.push(None);
    for (_, end) in own {
        let previous = latest_end[latest_end.len() - 1];
        latest_end.push(Some(previous.map_or(end, |latest| latest.max(end))));
    }
    let mut count = 0;
    let mut earliest: Option<T> = None;
    for (start, end) in moving {
        let before_end = own.partition_point(|(other_start, _)| other_start < end);
        let collides = latest_end[before_end].is_some_and(|latest| latest > start);
        if collides {
            count += 1;
            if earliest.as_ref().is_none_or(|first| start < first) {
                earliest = Some(start.clone());
            }
        }
    }
    (count, earliest)
}

#[cfg(test)]
mod tests {
    use super::collisions;
    use proptest::prelude::*;

    fn brute(moving: &[(u32, u32)], own: &[(u32, u32)]) -> (u64, Option<u32>) {
        let hits: Vec<u32> = moving
            .iter()
            .filter(|(s, e)| own.iter().any(|(os, oe)| os < e && s < oe))
            .map(|(s, _)| *s)
            .collect();
        (hits.len() as u64, hits.iter().min().copied())
    }

    fn schedule() -> impl Strategy<Value = Vec<(u32, u32)>> {
        proptest::collection::vec((0u32..500, 1u32..120), 0..40).prop_map(|mut slots| {
            slots.sort();
            slots
                .into_iter()
                .map(|(start, length)| (start, start + length))
                .collect()
        })
    }

    #[test]
    fn touching_is_not_colliding() {
        assert_eq!(collisions(&[(10, 20)], &[(0, 10), (20, 30)]), (0, None));
        assert_eq!(collisions(&[(10, 20)], &[(0, 100)]), (1, Some(10)));
    }

    proptest! {
        #[test]
        fn agrees_with_comparing_every_pair(moving in schedule(), own in schedule()) {
            prop_assert_eq!(collisions(&moving, &own), brute(&moving, &own));
        }
    }
}
