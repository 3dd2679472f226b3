//! Reads the text back out of a receipt PDF the way a viewer does: the content stream's
//! strings are glyph ids (`Identity-H`), turned into characters through each font's
//! ToUnicode map. Only what our receipts use (uncompressed streams, literal strings).

use std::collections::HashMap;

/// The text of each `Tj`, in order, one per line.
pub fn text(pdf: &[u8]) -> String {
    let raw = String::from_utf8_lossy(pdf).into_owned();
    let latin1: String = pdf.iter().map(|&b| b as char).collect();
    // Font resource name → its ToUnicode map: /F1 → type0 object → /ToUnicode n 0 R.
    let mut maps: HashMap<String, HashMap<u16, String>> = HashMap::new();
    for font in ["F1", "F2"] {
        let type0 = after(&raw, &format!("/{font} ")).and_then(first_number);
        let Some(type0) = type0 else { continue };
        let dict = object(&raw, type0).unwrap_or_default();
        let Some(cmap_id) = after(&dict, "/ToUnicode ").and_then(first_number) else {
            continue;
        };
        maps.insert(
            font.into(),
            bfchars(&object(&raw, cmap_id).unwrap_or_default()),
        );
    }
    // The page's content stream: the object the page's /Contents names.
    let contents = after(&raw, "/Contents ").and_then(first_number).unwrap();
    let start = latin1.find(&format!("\n{contents} 0 obj")).unwrap();
    let body = &latin1[start..];
    let s = body.find("stream\n").unwrap() + 7;
    let e = body.find("\nendstream").unwrap();
    let stream: Vec<u8> = body[s..e].chars().map(|c| c as u8).collect();

    let mut out = String::new();
    let mut font = String::new();
    let mut i = 0;
    while i < stream.len() {
        match stream[i] {
            b'/' => {
                let end = stream[i + 1..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(stream.len(), |p| i + 1 + p);
                font = String::from_utf8_lossy(&stream[i + 1..end]).into_owned();
                i = end;
            }
            b'(' => {
                let (bytes, end) = literal(&stream, i);
                let map = maps.get(&font);
                for pair in bytes.chunks(2) {
                    let cid = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                    let c = map
                        .and_then(|m| m.get(&cid))
                        .map_or("\u{fffd}", |s| s.as_str());
                    out.push_str(c);
                }
                out.push('\n');
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

fn after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    s.find(key).map(|i| &s[i + key.len()..])
}

fn first_number(s: &str) -> Option<u32> {
    s.split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())?
        .parse()
        .ok()
}

fn object(raw: &str, id: u32) -> Option<String> {
    let start = raw.find(&format!("\n{id} 0 obj"))?;
    let end = raw[start..].find("endobj")?;
    Some(raw[start..start + end].to_string())
}

/// `<XXXX> <YYYY…>` pairs of a ToUnicode map.
fn bfchars(cmap: &str) -> HashMap<u16, String> {
    let mut m = HashMap::new();
    for line in cmap.lines() {
        let parts: Vec<&str> = line
            .split(['<', '>'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() == 2 && parts[0].len() == 4 {
            let (Ok(cid), units) = (u16::from_str_radix(parts[0], 16), parts[1]) else {
                continue;
            };
            let utf16: Vec<u16> = (0..units.len() / 4)
                .filter_map(|k| u16::from_str_radix(&units[k * 4..k * 4 + 4], 16).ok())
                .collect();
            m.insert(cid, String::from_utf16_lossy(&utf16));
        }
    }
    m
}

/// A literal string starting at `stream[i] == '('`: its bytes, and where it ends.
fn literal(stream: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 0;
    loop {
        let b = stream[i];
        match b {
            b'(' if depth == 0 => depth = 1,
            b'(' => {
                depth += 1;
                out.push(b)
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (out, i + 1);
                }
                out.push(b)
            }
            b'\\' => {
                i += 1;
                match stream[i] {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    d @ b'0'..=b'7' => {
                        let mut v = u32::from(d - b'0');
                        for _ in 0..2 {
                            match stream.get(i + 1) {
                                Some(n @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(n - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8)
                    }
                    other => out.push(other),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
}
