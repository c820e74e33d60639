//! Files for other programs: CSV as RFC 4180 describes it (UTF-8, CRLF, a header row).

/// One CSV row: cells with a comma, quote or line break are quoted, quotes doubled. A text cell
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn csv_row<S: AsRef<str>>(cells: &[Cell<S>]) -> String {
    let mut row = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            row.push(',');
        }
        let text = match cell {
            Cell::Text(text) if text.as_ref().starts_with(['=', '+', '-', '@']) => {
                format!("'{}", text.as_ref())
            }
            Cell::Text(text) | Cell::Number(text) => text.as_ref().to_owned(),
        };
        if text.contains([',', '"', '\r', '\n']) {
            row.push('"');
            row.push_str(&text.replace('"', "\"\""));
            row.push('"');
        } else {
            row.push_str(&text);
        }
    }
    row.push_str("\r\n");
    row
}

/// A CSV cell: text is guarded against formula injection, numbers are written as they are.
pub enum Cell<S> {
    Text(S),
    Number(S),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_they_must_be() {
        let row = csv_row(&[
            Cell::Text("PT Maju, Tbk"),
            Cell::Text("say \"hi\""),
            Cell::Number("-3719040"),
            Cell::Text("=HYPERLINK(1)"),
            Cell::Text("plain"),
        ]);
        assert_eq!(
            row,
            "\"PT Maju, Tbk\",\"say \"\"hi\"\"\",-3719040,'=HYPERLINK(1),plain\r\n"
        );
    }
}
