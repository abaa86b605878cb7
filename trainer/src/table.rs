//! The one CSV reader of the data sets' label files (`file`, `split`, labels, attributes), on the
//! `csv` crate: a UTF-8 byte-order mark is skipped, `\r\n` line ends, blank lines and RFC 4180
//! quoted fields (line breaks included) are accepted, header names are trimmed, and every row
//! must have the header's number of fields.
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
        // `\r\n` as `\n`: the crate counts a CRLF line end as no new line in record positions
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n");
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut records = r.records();
        let line = |rec: &csv::StringRecord| rec.position().map_or(0, |p| p.line() as usize);
        let head = records.next().context("empty CSV")?.map_err(|e| csv_error(&e))?;
        let header: Vec<String> = head.iter().map(|h| h.trim().to_string()).collect();
        let mut rows = Vec::new();
        for rec in records {
            let rec = rec.map_err(|e| csv_error(&e))?;
            let n = line(&rec);
            if rec.len() != header.len() {
                bail!("line {n}: {} fields, header has {}", rec.len(), header.len());
            }
            rows.push((n, rec.iter().map(str::to_string).collect()));
        }
        Ok(Table { header, rows })
    }

    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// A parse error with the line it is on.
fn csv_error(e: &csv::Error) -> anyhow::Error {
    match e.position() {
        Some(p) => anyhow::anyhow!("line {}: {e}", p.line()),
        None => anyhow::anyhow!("{e}"),
    }
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
        // a quoted field may hold a line break (RFC 4180); the row after it keeps its line number
        let t = Table::parse("a,b\n\"x\ny\",1\nz,2\n").unwrap();
        assert_eq!(t.rows[0].1[0], "x\ny");
        assert_eq!(t.rows[1].0, 4);
        assert!(Table::parse("").is_err());
    }
}
