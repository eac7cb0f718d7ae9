//! One memory budget for the answers in flight, for the whole agent. Pure: the server
//! describes what each client holds, this decides who is throttled and who is closed.
//!
//! What counts: every owned byte queued for a client (answers built for it, event
//! lines), and every shared buffer of an older cycle that some client still holds,
//! once however many hold it. The latest cycle's views do not count: they live
//! anyway, and [`ANSWER_BUDGET`] comes on top of them.
//!
//! Past the budget:
//! - requests are no longer read from the clients that hold a fair share of it or
//!   more (the budget over the clients holding anything): they wait in their own
//!   socket buffers until they read what they owe;
//! - clients that hold an older cycle's buffers are closed with `too_slow`, those
//!   holding the most first, until the rest fits. No number of slow readers can pin
//!   more than the budget for longer than one turn of the loop.

use std::collections::HashMap;
use std::sync::Arc;

use mio::Token;

/// Bytes of answers in flight beyond the latest cycle's views, at most: half the
/// 64 MiB the agent may grow by under any attack, the other half left for the views
/// of a cycle being built and the allocator's slack. At 5,000 domains it holds no
/// older `metrics` answer (44.6 MB): a reader must take each before the next cycle.
pub const ANSWER_BUDGET: u64 = 32 << 20;

/// What one client holds.
#[derive(Debug)]
pub struct Holding {
    pub token: Token,
    /// Owned bytes not yet written.
    pub owned: u64,
    /// Shared buffers not yet written, with the bytes of each.
    pub shared: Vec<(usize, u64)>,
}

impl Holding {
    /// Adds a queued shared buffer.
    pub fn hold(&mut self, buffer: &Arc<Vec<u8>>) {
        let key = Arc::as_ptr(buffer) as usize;
        if !self.shared.iter().any(|&(k, _)| k == key) {
            self.shared.push((key, buffer.len() as u64));
        }
    }
}

/// The budget's verdict for one turn.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Bytes in flight before anyone is closed.
    pub in_flight: u64,
    /// Clients whose requests are not read while the budget is exceeded.
    pub throttled: Vec<Token>,
    /// Clients to close (`too_slow`): they pin older cycles past the budget.
    pub close: Vec<Token>,
}

/// Judges `clients` against `budget`; `current` are the latest cycle's buffers.
pub fn judge(clients: &[Holding], current: &[usize], budget: u64) -> Verdict {
    // Each older buffer once, with how many clients hold it.
    let mut pinned: HashMap<usize, (u64, usize)> = HashMap::new();
    let mut owned = 0u64;
    for client in clients {
        owned += client.owned;
        for &(key, len) in &client.shared {
            if !current.contains(&key) {
                pinned.entry(key).or_insert((len, 0)).1 += 1;
            }
        }
    }
    let mut in_flight = owned + pinned.values().map(|&(len, _)| len).sum::<u64>();
    let mut verdict = Verdict {
        in_flight,
        ..Verdict::default()
    };
    if in_flight <= budget {
        return verdict;
    }
    // What each client holds beyond the latest cycle.
    let held = |client: &Holding| {
        client.owned
            + client
                .shared
                .iter()
                .filter(|(key, _)| !current.contains(key))
                .map(|&(_, len)| len)
                .sum::<u64>()
    };
    let holders = clients.iter().filter(|c| held(c) > 0).count().max(1) as u64;
    let fair_share = budget / holders;
    verdict.throttled = clients
        .iter()
        .filter(|c| held(c) > 0 && held(c) >= fair_share)
        .map(|c| c.token)
        .collect();
    // Those pinning older cycles, the largest first, until the rest fits.
    let mut pinning: Vec<&Holding> = clients
        .iter()
        .filter(|c| c.shared.iter().any(|(key, _)| !current.contains(key)))
        .collect();
    pinning.sort_by_key(|c| std::cmp::Reverse(held(c)));
    for client in pinning {
        if in_flight <= budget {
            break;
        }
        verdict.close.push(client.token);
        in_flight -= client.owned;
        for (key, _) in &client.shared {
            if let Some((len, holders)) = pinned.get_mut(key) {
                *holders -= 1;
                if *holders == 0 {
                    in_flight -= *len;
                }
            }
        }
    }
    verdict
        .throttled
        .retain(|token| !verdict.close.contains(token));
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const BUDGET: u64 = 64 * MIB;

    fn client(token: usize, owned: u64, shared: &[(usize, u64)]) -> Holding {
        Holding {
            token: Token(token),
            owned,
            shared: shared.to_vec(),
        }
    }

    #[test]
    fn the_latest_cycle_costs_nothing_and_a_shared_buffer_counts_once() {
        let clients: Vec<_> = (0..60).map(|t| client(t, 0, &[(1, 40 * MIB)])).collect();
        let verdict = judge(&clients, &[1], BUDGET);
        assert_eq!(verdict.in_flight, 0, "sixty readers of the latest view");
        // The same buffer after a new cycle: one copy pinned, within the budget.
        let verdict = judge(&clients, &[2], BUDGET);
        assert_eq!(verdict.in_flight, 40 * MIB);
        assert!(verdict.close.is_empty() && verdict.throttled.is_empty());
    }

    #[test]
    fn slow_readers_of_older_cycles_are_closed_largest_first_until_the_rest_fits() {
        // One reader per cycle, each on another 44.6 MB metrics buffer.
        let clients: Vec<_> = (0..24)
            .map(|t| client(t, 1000 * t as u64, &[(100 + t, 44 * MIB)]))
            .collect();
        let verdict = judge(&clients, &[123], BUDGET);
        assert_eq!(verdict.close.len(), 22, "{verdict:?}");
        let kept: u64 = clients
            .iter()
            .filter(|c| !verdict.close.contains(&c.token))
            .map(|c| {
                c.owned
                    + c.shared
                        .iter()
                        .filter(|s| s.0 != 123)
                        .map(|s| s.1)
                        .sum::<u64>()
            })
            .sum();
        assert!(kept <= BUDGET, "{kept}");
        assert!(
            !verdict.close.contains(&Token(23)),
            "the reader of the latest cycle stays"
        );
    }

    #[test]
    fn past_the_budget_the_largest_holders_are_not_read_and_small_ones_are() {
        let mut clients: Vec<_> = (0..10).map(|t| client(t, 8 * MIB, &[])).collect();
        clients.push(client(10, 100, &[]));
        clients.push(client(11, 0, &[]));
        let verdict = judge(&clients, &[], BUDGET);
        assert_eq!(verdict.in_flight, 80 * MIB + 100);
        assert_eq!(verdict.throttled.len(), 10, "{verdict:?}");
        assert!(!verdict.throttled.contains(&Token(10)));
        assert!(!verdict.throttled.contains(&Token(11)));
        assert!(
            verdict.close.is_empty(),
            "owned answers are throttled, not closed"
        );
    }
}
