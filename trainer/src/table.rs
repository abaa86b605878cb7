//! The one CSV reader of the data sets' label files (`file`, `split`, labels, attributes): a
//! UTF-8 byte-order mark is skipped, `\r\n` line ends and RFC 4180 quoted fields are accepted,
//! header names are trimmed, and every row must have the header's number of fields.
use std::path::Path;

use anyhow::{bail, Context, Result};

pub struct Table {
    pub header: Vec<String>,
    /// Rows with their line numbers in the file (1 = the header).
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Table::parse(&text).with_context(|| format!("reading {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Table> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, head) = lines.next().context("empty CSV")?;
        let header: Vec<String> = fields(head, 1)?.into_iter().map(|h| h.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (i, line) in lines {
            let f = fields(line, i + 1)?;
            if f.len() != header.len() {
                bail!("line {}: {} fields, header has {}", i + 1, f.len(), header.len());
            }
            rows.push((i + 1, f));
        }
        Ok(Table { header, rows })
    }

    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// The fields of one line (no quoted line breaks).
fn fields(line: &str, n: usize) -> Result<Vec<String>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', false) if cur.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    bail!("line {n}: text after a closing quote");
                }
            }
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        bail!("line {n}: unterminated quoted field");
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_quotes() {
        let t = Table::parse("\u{feff}file,split\r\n\"a,b.png\",train\r\n\"say \"\"hi\"\"\",test\r\n\r\n").unwrap();
        assert_eq!(t.header, ["file", "split"]);
        assert_eq!(t.rows[0], (2, vec!["a,b.png".to_string(), "train".to_string()]));
        assert_eq!(t.rows[1].1[0], "say \"hi\"");
        assert_eq!(t.rows.len(), 2);
        let e = Table::parse("a,b\n1,2,3\n").err().unwrap().to_string();
        assert_eq!(e, "line 2: 3 fields, header has 2");
        assert!(Table::parse("a\n\"x\n").is_err());
    }
}
