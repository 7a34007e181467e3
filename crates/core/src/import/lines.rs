//! Reading lines with a cap on their length, so one huge line cannot exhaust memory.

// Lengths and counts here come from the file: no arithmetic that can overflow.
#![deny(clippy::arithmetic_side_effects)]

use std::io::BufRead;

pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    line: Vec<u8>,
    consumed: u64,
}

pub enum LineError {
    TooLong,
    Io(std::io::Error),
}

impl<R: BufRead> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            max,
            line: Vec::new(),
            consumed: 0,
        }
    }

    /// The next line without its newline, with the bytes read so far; `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(&[u8], u64)>, LineError> {
        self.line.clear();
        let mut saw_any = false;
        loop {
            let buf = self.reader.fill_buf().map_err(LineError::Io)?;
            if buf.is_empty() {
                return Ok(saw_any.then_some((self.line.as_slice(), self.consumed)));
            }
            saw_any = true;
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i.saturating_add(1), true),
                None => (buf.len(), false),
            };
            if self.line.len().saturating_add(take) > self.max.saturating_add(1) {
                return Err(LineError::TooLong);
            }
            self.line.extend_from_slice(buf.get(..take).unwrap_or(buf));
            self.reader.consume(take);
            self.consumed = self.consumed.saturating_add(take as u64);
            if done {
                self.line.pop();
                return Ok(Some((self.line.as_slice(), self.consumed)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Result<Vec<String>, ()> {
        let mut lines = BoundedLines::new(std::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        loop {
            match lines.next_line() {
                Ok(Some((l, _))) => out.push(String::from_utf8(l.to_vec()).unwrap()),
                Ok(None) => return Ok(out),
                Err(_) => return Err(()),
            }
        }
    }

    #[test]
    fn splits_lines_across_buffer_refills() {
        assert_eq!(
            collect(b"abcdefgh\nij\n\nk", 16).unwrap(),
            ["abcdefgh", "ij", "", "k"]
        );
    }

    #[test]
    fn refuses_a_line_over_the_cap() {
        assert!(collect(b"short\nthis line is far too long\n", 10).is_err());
    }
}
