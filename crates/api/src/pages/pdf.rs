//! The one-page PDF receipt, written with `pdf-writer`. Text is set in DejaVu Sans, embedded
//! as CID fonts subset (with `subsetter`) to the glyphs the receipt uses, with a ToUnicode map:
//! any name the font covers (Latin, Greek, Cyrillic, Armenian, Georgian…) prints, and can be
//! copied and searched. No shaping: right-to-left and complex scripts print letter by letter,
//! and characters the font lacks print as its empty box.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

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

/// One embedded font and the glyphs used from it so far, under their subset ids.
struct Font {
    data: &'static [u8],
    /// PostScript name, prefixed with the subset tag.
    name: String,
    face: ttf_parser::Face<'static>,
    remapper: subsetter::GlyphRemapper,
    /// Subset glyph id → (the character it stands for, advance in 1/1000 em).
    glyphs: BTreeMap<u16, (char, f32)>,
}

impl Font {
    fn new(data: &'static [u8], name: &str) -> Font {
        Font {
            data,
            name: format!("DPRCPT+{name}"),
            face: ttf_parser::Face::parse(data, 0).expect("the bundled font parses"),
            remapper: subsetter::GlyphRemapper::new(),
            glyphs: BTreeMap::new(),
        }
    }

    fn per_mille(&self, units: impl Into<f32>) -> f32 {
        units.into() * 1000.0 / f32::from(self.face.units_per_em())
    }

    /// The text as 2-byte glyph ids (the `Identity-H` encoding), noting each glyph used.
    fn encode(&mut self, s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let gid = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
            let advance = self.face.glyph_hor_advance(gid).unwrap_or(0);
            let width = self.per_mille(advance);
            let cid = self.remapper.remap(gid.0);
            self.glyphs.entry(cid).or_insert((c, width));
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    /// Writes the font's objects: the Type 0 font at `ids[0]`, then its CID font, descriptor,
    /// ToUnicode map and the subset font program.
    fn write(&self, pdf: &mut Pdf, ids: [Ref; 5]) {
        let [type0, cid, descriptor, cmap_id, file] = ids;
        let name = Name(self.name.as_bytes());
        let info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap_id);
        let mut font = pdf.cid_font(cid);
        font.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(info)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = font.widths();
        for (cid, (_, w)) in &self.glyphs {
            widths.consecutive(*cid, [*w]);
        }
        widths.finish();
        font.finish();
        let f = &self.face;
        let b = f.global_bounding_box();
        pdf.font_descriptor(descriptor)
            .name(name)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                self.per_mille(b.x_min),
                self.per_mille(b.y_min),
                self.per_mille(b.x_max),
                self.per_mille(b.y_max),
            ))
            .italic_angle(0.0)
            .ascent(self.per_mille(f.ascender()))
            .descent(self.per_mille(f.descender()))
            .cap_height(self.per_mille(f.capital_height().unwrap_or(f.ascender())))
            .stem_v(80.0)
            .font_file2(file);
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), info);
        for (cid, (c, _)) in &self.glyphs {
            if *cid != 0 {
                cmap.pair(*cid, *c);
            }
        }
        pdf.cmap(cmap_id, &cmap.finish());
        // The bundled fonts subset fine; were that ever to fail, the whole font still works.
        let program =
            subsetter::subset(self.data, 0, &self.remapper).unwrap_or_else(|_| self.data.to_vec());
        pdf.stream(file, &program);
    }
}

/// Renders the document as PDF bytes.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut fonts = [
        Font::new(REGULAR, "DejaVuSans"),
        Font::new(BOLD, "DejaVuSans-Bold"),
    ];
    let mut content = Content::new();
    let mut text = |font: usize, size: f32, x: f32, y: i32, s: &str| {
        let glyphs = fonts[font].encode(s);
        let name: &[u8] = if font == 0 { b"F1" } else { b"F2" };
        content
            .begin_text()
            .set_font(Name(name), size)
            .next_line(x, y as f32)
            .show(Str(&glyphs))
            .end_text();
    };
    let mut y = 740;
    text(1, 20.0, 72.0, y, doc.title);
    y -= 26;
    for h in &doc.header {
        for l in wrap(h, 80) {
            text(0, 11.0, 72.0, y, &l);
            y -= 15;
        }
    }
    y -= 12;
    for (label, value) in &doc.rows {
        let lines = wrap(value, 44);
        text(1, 11.0, 72.0, y, label);
        for (i, l) in lines.iter().enumerate() {
            text(0, 11.0, 290.0, y - 15 * i as i32, l);
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
            text(0, 9.0, 72.0, y, &l);
            y -= 12;
        }
    }
    let content = content.finish();

    let mut pdf = Pdf::new();
    let (catalog, tree, page, contents, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let font_ids = |first: i32| std::array::from_fn(|i| Ref::new(first + i as i32));
    let (regular, bold): ([Ref; 5], [Ref; 5]) = (font_ids(6), font_ids(11));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
        .parent(tree)
        .contents(contents);
    let mut resources = p.resources();
    resources
        .fonts()
        .pair(Name(b"F1"), regular[0])
        .pair(Name(b"F2"), bold[0]);
    resources.finish();
    p.finish();
    pdf.stream(contents, &content);
    pdf.document_info(info)
        .title(TextStr(doc.title))
        .producer(TextStr("dealerpay"));
    fonts[0].write(&mut pdf, regular);
    fonts[1].write(&mut pdf, bold);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(name: &str) -> Vec<u8> {
        render(&Document {
            title: "Reçu",
            header: vec![name.into()],
            rows: vec![("Montant".into(), "1\u{202f}234,56\u{a0}$".into())],
            footer: vec!["Merci".into()],
        })
    }

    #[test]
    fn non_latin_names_get_real_glyphs_and_copy_back() {
        let mut f = Font::new(REGULAR, "DejaVuSans");
        for name in [
            "Ελένη Παπαδοπούλου",
            "Иван Петров",
            "Nguyễn Văn Ánh",
            "Łukasz Żółć",
            "Ärger Ößmann",
        ] {
            let encoded = f.encode(name);
            let cids: Vec<u16> = encoded
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            assert_eq!(cids.len(), name.chars().count());
            assert!(
                cids.iter().all(|c| *c != 0),
                "every letter of {name} has a glyph"
            );
            // Each glyph maps back to its character (the ToUnicode map is built from this).
            let back: String = cids.iter().map(|c| f.glyphs[c].0).collect();
            assert_eq!(back, name);
        }
        // Beyond the font (CJK): the empty box, not a wrong letter.
        assert_eq!(f.encode("漢"), vec![0, 0]);
    }

    #[test]
    fn a_small_well_formed_pdf() {
        let pdf = receipt("Иван Петров");
        assert!(pdf.starts_with(b"%PDF-1."));
        assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
        let text = String::from_utf8_lossy(&pdf);
        for needle in [
            "/Identity-H",
            "/FontFile2",
            "/ToUnicode",
            "/CIDFontType2",
            "DPRCPT+DejaVuSans-Bold",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        // Subset: a few kilobytes, not the 700 KB fonts.
        assert!(pdf.len() < 120_000, "{} bytes", pdf.len());
        // The xref table points at each object.
        let start: usize = text
            .rsplit("startxref")
            .next()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref"));
    }
}
