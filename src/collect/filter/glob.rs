//! Shell globs as fnmatch(3) reads them, without flags: `*` any run of characters,
//! `?` one character, `[…]` one character of a set (ranges `a-z`, negation with `!`
//! or `^`, a `]` first in the set is a member), `\x` the character `x` itself. A `[`
//! without its closing `]` is an ordinary character. Matching works on characters,
//! not bytes.
//!
//! A pattern is compiled once ([`Glob::compile`]) and is at most [`MAX_PATTERN_BYTES`]
//! long, so it has at most that many tokens. Matching is a bit-parallel NFA: the set
//! of pattern positions reached so far is a bit set of at most `WORDS` words, and
//! each character of the name costs one table look-up and a few word operations,
//! whatever the pattern holds (long sets, many stars). No backtracking, no
//! allocation: a match is linear in the name, and it runs for every domain of every
//! cycle and of every `get`.

/// The longest pattern, in bytes: longer ones are refused before they are compiled.
pub const MAX_PATTERN_BYTES: usize = 256;

/// Words of a position set: one bit per token plus the end, tokens at most
/// [`MAX_PATTERN_BYTES`].
const WORDS: usize = (MAX_PATTERN_BYTES + 1).div_ceil(64);

/// A set of pattern positions, bit `i` for "the first `i` tokens are matched", in `N`
/// words (matching uses as few as the pattern needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits<const N: usize = WORDS>([u64; N]);

impl<const N: usize> Default for Bits<N> {
    fn default() -> Self {
        Bits([0; N])
    }
}

impl<const N: usize> Bits<N> {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    fn and(self, other: Self) -> Self {
        Bits(std::array::from_fn(|w| self.0[w] & other.0[w]))
    }

    fn or(self, other: Self) -> Self {
        Bits(std::array::from_fn(|w| self.0[w] | other.0[w]))
    }

    /// Every position moved one token on.
    fn shifted(self) -> Self {
        Bits(std::array::from_fn(|w| {
            let carry = if w == 0 { 0 } else { self.0[w - 1] >> 63 };
            (self.0[w] << 1) | carry
        }))
    }

    /// The first `M` words (`M <= N`).
    fn head<const M: usize>(&self) -> Bits<M> {
        Bits(std::array::from_fn(|w| self.0[w]))
    }

    /// Adds the positions a star lets through without a character (stars are
    /// collapsed, so one step reaches past each).
    fn closure(self, stars: Self) -> Self {
        self.or(self.and(stars).shifted())
    }
}

/// One step of a pattern, with its set decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of stars, collapsed to one.
    Star,
    AnyOne,
    Literal(char),
    /// Inclusive ranges of code points (a single member is a range of one).
    Set {
        ranges: Vec<(u32, u32)>,
        negated: bool,
    },
}

impl Token {
    /// Whether this one-character token accepts the code point `c` (a star is not a
    /// one-character token).
    fn accepts(&self, c: u32) -> bool {
        match self {
            Token::Star => false,
            Token::AnyOne => true,
            Token::Literal(l) => u32::from(*l) == c,
            Token::Set { ranges, negated } => {
                ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated
            }
        }
    }

    /// The code points at which what this token accepts may change.
    fn boundaries(&self, out: &mut Vec<u32>) {
        match self {
            Token::Star | Token::AnyOne => {}
            Token::Literal(l) => out.extend([u32::from(*l), u32::from(*l) + 1]),
            Token::Set { ranges, .. } => {
                for &(lo, hi) in ranges {
                    out.extend([lo, hi.saturating_add(1)]);
                }
            }
        }
    }
}

/// Why a pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    pub bytes: usize,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the pattern is {} bytes long; a domain pattern is at most {MAX_PATTERN_BYTES} bytes",
            self.bytes
        )
    }
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// How many tokens; position `tokens` is "all matched".
    tokens: usize,
    /// The positions whose token is a star.
    stars: Bits,
    /// For each ASCII character, the positions whose token accepts it.
    ascii: Box<[Bits; 128]>,
    /// Beyond ASCII: sorted code points from which `masks[i]` holds, up to the next.
    starts: Vec<u32>,
    masks: Vec<Bits>,
    /// The positions reached before any character: 0 and what stars skip to.
    first: Bits,
    /// A star that ends the pattern, if one does (else empty): reaching it matches
    /// whatever follows.
    last_star: Bits,
    /// The characters any match has at least (the tokens that are not stars): a
    /// shorter name is refused before a character is read.
    min_chars: usize,
}

/// Whether `text` has a character that makes it a glob rather than a plain name.
pub fn has_metacharacters(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

impl Glob {
    /// Compiles `pattern`, refused past [`MAX_PATTERN_BYTES`].
    pub fn compile(pattern: &str) -> Result<Glob, TooLong> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(TooLong {
                bytes: pattern.len(),
            });
        }
        let tokens = tokenize(pattern);
        let mut stars = Bits::default();
        for (i, token) in tokens.iter().enumerate() {
            if *token == Token::Star {
                stars.set(i);
            }
        }
        let mask_of = |c: u32| {
            let mut mask = Bits::default();
            for (i, token) in tokens.iter().enumerate() {
                if token.accepts(c) {
                    mask.set(i);
                }
            }
            mask
        };
        let ascii = Box::new(ascii_masks(&tokens));
        let mut starts = vec![128];
        for token in &tokens {
            token.boundaries(&mut starts);
        }
        starts.retain(|&c| c >= 128);
        starts.sort_unstable();
        starts.dedup();
        let masks = starts.iter().map(|&c| mask_of(c)).collect();
        let mut first = Bits::default();
        first.set(0);
        let mut last_star = Bits::default();
        if tokens.last() == Some(&Token::Star) {
            last_star.set(tokens.len() - 1);
        }
        Ok(Glob {
            tokens: tokens.len(),
            min_chars: tokens.iter().filter(|t| **t != Token::Star).count(),
            first: first.closure(stars),
            stars,
            ascii,
            starts,
            masks,
            last_star,
        })
    }

    fn mask(&self, c: char) -> Bits {
        let c = u32::from(c);
        if c < 128 {
            return self.ascii[c as usize];
        }
        // `starts[0]` is 128: there is always an interval that holds `c`.
        let at = self.starts.partition_point(|&s| s <= c) - 1;
        self.masks[at]
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        // Bytes are at least characters: a long pattern is no cost on a short name.
        if text.len() < self.min_chars {
            return false;
        }
        // Positions 0 to `tokens`: as many words as that takes.
        match self.tokens / 64 {
            0 => self.run::<1>(text),
            1 => self.run::<2>(text),
            2 => self.run::<3>(text),
            3 => self.run::<4>(text),
            _ => self.run::<WORDS>(text),
        }
    }

    /// The automaton on `N` words: per character, the positions that consume it move
    /// on, stars stay, and stars let through.
    fn run<const N: usize>(&self, text: &str) -> bool {
        let stars = self.stars.head::<N>();
        let last_star = self.last_star.head::<N>();
        let mut reached = self.first.head::<N>();
        for c in text.chars() {
            if !reached.and(last_star).is_empty() {
                return true;
            }
            let moved = reached.and(self.mask(c).head::<N>()).shifted();
            reached = moved.or(reached.and(stars)).closure(stars);
            if reached.is_empty() {
                return false;
            }
        }
        reached.has(self.tokens)
    }
}

/// For each ASCII character, the positions whose token accepts it: each token sets
/// its own bits (a set by its ranges), instead of every character asking every token.
fn ascii_masks(tokens: &[Token]) -> [Bits; 128] {
    let mut everything = Bits::default();
    for (i, token) in tokens.iter().enumerate() {
        if matches!(token, Token::AnyOne | Token::Set { negated: true, .. }) {
            everything.set(i);
        }
    }
    let mut masks = [everything; 128];
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Literal(l) if u32::from(*l) < 128 => masks[*l as usize].set(i),
            Token::Set { ranges, negated } => {
                for &(lo, hi) in ranges {
                    for c in lo..=hi.min(127) {
                        if *negated {
                            masks[c as usize].clear(i);
                        } else {
                            masks[c as usize].set(i);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    masks
}

/// The pattern's tokens, runs of stars collapsed.
fn tokenize(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let (token, next) = match c {
            '*' => (Token::Star, after),
            '?' => (Token::AnyOne, after),
            '\\' if !after.is_empty() => {
                let escaped = after.chars().next().unwrap_or('\\');
                (Token::Literal(escaped), &after[escaped.len_utf8()..])
            }
            '[' => match set_at(after) {
                Some((token, next)) => (token, next),
                None => (Token::Literal('['), after),
            },
            other => (Token::Literal(other), after),
        };
        if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
            tokens.push(token);
        }
        rest = next;
    }
    tokens
}

/// The set that starts just after `[`, and the text after its `]`; `None` when there
/// is no closing `]`.
fn set_at(rest: &str) -> Option<(Token, &str)> {
    let negated = rest.starts_with(['!', '^']);
    let body_start = usize::from(negated);
    // A `]` right after the opening (and its negation) is a member, not the end.
    let search_from = body_start + usize::from(rest[body_start..].starts_with(']'));
    let close = search_from + rest[search_from..].find(']')?;
    let members: Vec<char> = rest[body_start..close].chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < members.len() {
        let low = members[i];
        // `a-z`; a `-` first or last is a member.
        if members.get(i + 1) == Some(&'-') && i + 2 < members.len() {
            let high = members[i + 2];
            if low <= high {
                ranges.push((u32::from(low), u32::from(high)));
            }
            i += 3;
        } else {
            ranges.push((u32::from(low), u32::from(low)));
            i += 1;
        }
    }
    Some((Token::Set { ranges, negated }, &rest[close + 1..]))
}

/// Compiles and matches once: for a pattern used once, or in tests.
pub fn matches(pattern: &str, text: &str) -> bool {
    Glob::compile(pattern).is_ok_and(|glob| glob.matches(text))
}

#[cfg(test)]
mod tests;
