//! Reading the spool backwards from its end in bounded memory: where the last newline
//! is (to cut a torn line), and whole lines, newest first.
//!
//! Both read at most a given window back from the end, in 64 KiB reads into
//! one buffer; a line is held only while it is no longer than the caller's limit.
//! Whatever the file holds, the memory used is the chunk plus one line, and the time
//! is one pass over the window.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// The offset just after the last newline in the `window` bytes before `end`, or None
/// when there is none there.
pub fn after_last_newline(file: &File, end: u64, window: u64) -> io::Result<Option<u64>> {
    let floor = end.saturating_sub(window);
    let mut buf = vec![0; CHUNK];
    let mut to = end;
    while to > floor {
        let from = to.saturating_sub(CHUNK as u64).max(floor);
        let chunk = &mut buf[..(to - from) as usize];
        file.read_exact_at(chunk, from)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            return Ok(Some(from + i as u64 + 1));
        }
        to = from;
    }
    Ok(None)
}

/// A line met while reading backwards.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without its newline.
    Text(&'a [u8]),
    /// A line longer than the limit: passed over, its bytes never held.
    TooLong,
}

/// Calls `visit` with each non-empty line that lies wholly in the `window` bytes before
/// `end`, newest first, until it breaks. `end` is the end of a line (just after a
/// newline, or the end of the file). A line that starts before the window is not given.
pub fn lines_backward(
    file: &File,
    end: u64,
    window: u64,
    max_line: usize,
    mut visit: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<()> {
    let floor = end.saturating_sub(window);
    let mut buf = vec![0; CHUNK];
    let mut held = Held::new(max_line);
    let mut to = end;
    while to > floor {
        let from = to.saturating_sub(CHUNK as u64).max(floor);
        let chunk = &mut buf[..(to - from) as usize];
        file.read_exact_at(chunk, from)?;
        let mut line_end = chunk.len();
        while let Some(i) = memchr::memrchr(b'\n', &chunk[..line_end]) {
            if held.finish(&chunk[i + 1..line_end], &mut visit).is_break() {
                return Ok(());
            }
            line_end = i;
        }
        held.prepend(&chunk[..line_end]);
        to = from;
    }
    if floor == 0 {
        // The file's first line.
        let _ = held.finish(&[], &mut visit);
    }
    Ok(())
}

/// The later part of the line being read backwards: pieces in the order they were
/// read (so the line is their reverse), or only the fact that it is too long.
struct Held {
    pieces: Vec<Vec<u8>>,
    len: usize,
    too_long: bool,
    max_line: usize,
}

impl Held {
    fn new(max_line: usize) -> Self {
        Self {
            pieces: Vec::new(),
            len: 0,
            too_long: false,
            max_line,
        }
    }

    /// `head` precedes what is held.
    fn prepend(&mut self, head: &[u8]) {
        if head.is_empty() || self.too_long {
            return;
        }
        if self.len + head.len() > self.max_line {
            self.too_long = true;
            self.pieces = Vec::new();
            self.len = 0;
            return;
        }
        self.len += head.len();
        self.pieces.push(head.to_vec());
    }

    /// `head` is the start of the line: hands the whole line over and starts afresh.
    fn finish(
        &mut self,
        head: &[u8],
        visit: &mut impl FnMut(Line<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let flow = if self.too_long || self.len + head.len() > self.max_line {
            visit(Line::TooLong)
        } else if self.pieces.is_empty() {
            if head.is_empty() {
                ControlFlow::Continue(())
            } else {
                visit(Line::Text(head))
            }
        } else {
            let mut line = Vec::with_capacity(self.len + head.len());
            line.extend_from_slice(head);
            for piece in self.pieces.iter().rev() {
                line.extend_from_slice(piece);
            }
            visit(Line::Text(&line))
        };
        self.pieces.clear();
        self.len = 0;
        self.too_long = false;
        flow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(name: &str, content: &[u8]) -> File {
        let path =
            std::env::temp_dir().join(format!("virtdiag-scan-{name}-{}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        File::open(&path).unwrap()
    }

    fn collect(file: &File, window: u64, max_line: usize) -> Vec<String> {
        let end = file.metadata().unwrap().len();
        let mut seen = Vec::new();
        lines_backward(file, end, window, max_line, |line| {
            seen.push(match line {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong => "<too long>".into(),
            });
            ControlFlow::Continue(())
        })
        .unwrap();
        seen
    }

    #[test]
    fn lines_come_newest_first_across_chunks() {
        let long = "y".repeat(200_000);
        let text = format!("first\n{long}\n\nlast\n");
        let file = file_with("lines", text.as_bytes());
        assert_eq!(collect(&file, u64::MAX, 1 << 20), ["last", &long, "first"]);
        assert_eq!(
            collect(&file, u64::MAX, 1000),
            ["last", "<too long>", "first"],
            "a line over the limit is passed over"
        );
        // A window that ends inside the long line: its start is not in view.
        assert_eq!(collect(&file, 100_000, 1 << 20), ["last"]);
    }

    #[test]
    fn the_last_newline_within_the_window() {
        let mut content = b"a\nb\n".to_vec();
        content.extend(std::iter::repeat_n(b'z', 300_000));
        let file = file_with("newline", &content);
        let len = content.len() as u64;
        assert_eq!(after_last_newline(&file, len, u64::MAX).unwrap(), Some(4));
        assert_eq!(after_last_newline(&file, len, 200_000).unwrap(), None);
        assert_eq!(after_last_newline(&file, 0, u64::MAX).unwrap(), None);
    }
}
