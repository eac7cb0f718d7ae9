//! The fast writer is byte-equal to serde's for generated records: every field drawn at
//! random (a seeded xorshift, so a failure is reproducible from its seed), with nulls,
//! absent opt-in groups, non-finite and extreme floats, and strings with quotes,
//! backslashes, every control character, non-ASCII and U+2028.

use std::sync::Arc;

use super::write_domain_line;
use crate::record::opt_in::*;

/// xorshift64*: small, seeded, good enough to spread the cases.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }

    fn opt<T>(&mut self, value: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (!self.chance(4)).then(|| value(self))
    }

    /// Absent, null or a value.
    fn chosen<T>(&mut self, value: impl FnOnce(&mut Self) -> T) -> Chosen<T> {
        match self.below(3) {
            0 => None,
            1 => Some(None),
            _ => Some(Some(value(self))),
        }
    }

    fn u64(&mut self) -> u64 {
        match self.below(4) {
            0 => self.pick(&[0, 1, 9, 10, 99, u64::MAX, u64::MAX - 1, 1 << 53]),
            1 => self.next() >> self.below(64),
            _ => self.next(),
        }
    }

    fn u32(&mut self) -> u32 {
        self.u64() as u32
    }

    fn i64(&mut self) -> i64 {
        self.pick(&[0, -1, i64::MIN, i64::MAX, 42]) ^ (self.next() as i64 >> self.below(64))
    }

    fn f64(&mut self) -> f64 {
        const ODD: [f64; 18] = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-9,
            1e15,
            1e16,
            1e21,
            1e22,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123_456.789,
        ];
        match self.below(4) {
            0 => self.pick(&ODD),
            1 => f64::from_bits(self.next()), // any bits: NaNs and subnormals too
            2 => (self.next() % 1_000_000) as f64 / 1000.0,
            _ => (self.next() as f64) / (self.next() as f64 + 1.0),
        }
    }

    fn text(&mut self) -> String {
        const CHARS: [char; 20] = [
            'a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}',
            '\u{1f}', '\u{7f}', 'é', '☁', '\u{2028}', '\u{2029}', '😀',
        ];
        let len = self.below(12);
        (0..len)
            .map(|_| {
                if self.chance(4) {
                    char::from_u32(self.below(0x20) as u32).unwrap()
                } else {
                    self.pick(&CHARS)
                }
            })
            .collect()
    }

    fn arc(&mut self) -> Arc<str> {
        Arc::from(self.text())
    }

    fn opt_arc(&mut self) -> Option<Arc<str>> {
        self.opt(Self::arc)
    }

    fn items<T>(&mut self, item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let len = self.below(4);
        let mut item = item;
        (0..len).map(|_| item(self)).collect()
    }

    fn named<V>(&mut self, value: impl Fn(&mut Self) -> V) -> Named<V> {
        let mut named = Named::default();
        for _ in 0..self.below(4) {
            let name = self.text();
            let value = value(self);
            named.push(&name, value);
        }
        named
    }
}

mod parts;

#[test]
fn generated_records_are_written_as_serde_writes_them() {
    for seed in 1..=3000u64 {
        let mut g = Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let record = parts::record(&mut g);
        let mut fast = Vec::new();
        write_domain_line(&record, &mut fast);
        let mut reference = serde_json::to_vec(&record).unwrap();
        reference.push(b'\n');
        assert!(
            fast == reference,
            "seed {seed}:\nfast:  {}\nserde: {}",
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&reference)
        );
    }
}
