//! A one-page PDF receipt, written directly: PDF 1.4, the standard Helvetica fonts with
//! WinAnsi encoding (so Spanish and French accents print), uncompressed text. Small enough
//! that a PDF library would only add build time.

use std::fmt::Write as _;

/// Maps text to WinAnsi bytes and escapes it for a PDF string literal.
fn pdf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in s.chars() {
        let b: u8 = match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                c as u8
            }
            ' '..='~' => c as u8,
            '\u{a0}' | '\u{202f}' | '\u{2009}' => b' ',
            '\u{a1}'..='\u{ff}' => c as u32 as u8,
            '\u{2022}' => 0x95,
            '\u{2026}' => 0x85,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2019}' => 0x92,
            '\u{20ac}' => 0x80,
            _ => b'?',
        };
        if b >= 0x80 {
            let _ = write!(out, "\\{b:03o}");
        } else {
            out.push(b as char);
        }
    }
    out.push(')');
    out
}

/// Splits text into lines of at most `width` characters at spaces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = vec![];
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

pub struct Document<'a> {
    pub title: &'a str,
    /// Lines under the title (dealer name, contact).
    pub header: Vec<String>,
    /// Label/value rows.
    pub rows: Vec<(String, String)>,
    pub footer: Vec<String>,
}

/// Renders the document as PDF bytes.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut content = String::new();
    let mut y = 740;
    let mut text = |font: &str, size: u32, x: u32, y: i32, s: &str| {
        let _ = writeln!(
            content,
            "BT /{font} {size} Tf {x} {y} Td {} Tj ET",
            pdf_string(s)
        );
    };
    text("F2", 20, 72, y, doc.title);
    y -= 26;
    for h in &doc.header {
        for l in wrap(h, 80) {
            text("F1", 11, 72, y, &l);
            y -= 15;
        }
    }
    y -= 12;
    for (label, value) in &doc.rows {
        let lines = wrap(value, 44);
        text("F2", 11, 72, y, label);
        for (i, l) in lines.iter().enumerate() {
            text("F1", 11, 290, y - 15 * i as i32, l);
        }
        y -= 15 * lines.len().max(1) as i32 + 6;
        if y < 90 {
            break;
        }
    }
    y -= 12;
    for f in &doc.footer {
        for l in wrap(f, 90) {
            if y < 50 {
                break;
            }
            text("F1", 9, 72, y, &l);
            y -= 12;
        }
    }

    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        format!("<< /Title {} /Producer (dealerpay) >>", pdf_string(doc.title)),
    ];
    // The second line's high bytes mark the file as binary for transfer tools.
    let mut bytes: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut out = String::new();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(bytes.len());
        bytes.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = bytes.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(out, "{o:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    bytes.extend_from_slice(out.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        assert_eq!(pdf_string("a(b)\\"), "(a\\(b\\)\\\\)");
        assert_eq!(pdf_string("Café •"), "(Caf\\351 \\225)");
        assert_eq!(pdf_string("漢"), "(?)");
    }

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = render(&Document {
            title: "Reçu",
            header: vec!["Test Motors".into()],
            rows: vec![("Montant".into(), "1 234,56 $".into())],
            footer: vec![],
        });
        // One char per byte, so string offsets are file offsets.
        let text: String = pdf
            .iter()
            .map(|&b| if b < 128 { b as char } else { '?' })
            .collect();
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[start..].starts_with("xref"));
        let entries: Vec<usize> = text[start..]
            .lines()
            .skip(3)
            .take(7)
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, off) in entries.iter().enumerate() {
            assert!(pdf[*off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
        assert!(text.contains("(Montant) Tj"));
    }
}
