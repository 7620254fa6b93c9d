//! A small XML tree reader over quick-xml (namespaces ignored: elements are
//! matched by local name, so every `urn:QDA-XML:…` version reads the same),
//! with line numbers for error messages and a depth limit; and the escaping
//! used by the writers.

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

use crate::error::{InteropError, Problem, Result};

/// An element: local name, attributes (local names), child elements and the
/// text directly inside it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// Local name (`Code`, not `qda:Code`).
    pub name: String,
    /// Attributes by local name, in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Text and CDATA directly inside the element, entities resolved.
    pub text: String,
    /// 1-based line of the start tag.
    pub line: usize,
}

impl Element {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Child elements with this local name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    /// The text of the first child with this name, if present.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => name.to_string(),
    }
}

/// Decodes an XML file's bytes: UTF-8 (BOM stripped) or UTF-16 with a BOM.
pub(crate) fn decode(bytes: &[u8], file: &str) -> Result<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, file);
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String> {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| {
            InteropError::from(Problem::file(
                file,
                "is not valid UTF-16 text; export it again as UTF-8",
            ))
        })
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    utf8(bytes, file)
}

fn utf8(bytes: &[u8], file: &str) -> Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            Err(Problem::at(
                file,
                Some(line),
                None,
                "is not valid UTF-8; export it again (REFI-QDA files are UTF-8)",
            )
            .into())
        }
    }
}

/// Parses a whole XML document into its root element. Errors give the line.
pub(crate) fn parse(src: &str, file: &str, max_depth: usize) -> Result<Element> {
    let src = src.strip_prefix('\u{FEFF}').unwrap_or(src);
    let mut reader = Reader::from_str(src);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut line = 1usize;
    let mut counted = 0usize;
    let line_at = |pos: usize, line: &mut usize, counted: &mut usize| -> usize {
        let pos = pos.min(src.len());
        if pos > *counted {
            *line += src.as_bytes()[*counted..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            *counted = pos;
        }
        *line
    };
    let err = |line: usize, msg: String| -> InteropError {
        Problem::at(file, Some(line), None, msg).into()
    };
    loop {
        let before = reader.buffer_position() as usize;
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let l = line_at(reader.error_position() as usize, &mut line, &mut counted);
                return Err(err(
                    l,
                    format!("the XML is not well-formed ({e}); the file is damaged or not a REFI-QDA export"),
                ));
            }
        };
        // Line of the event's start (skip leading whitespace counted into it).
        let here = line_at(before, &mut line, &mut counted);
        match ev {
            Event::Start(e) => {
                if stack.len() >= max_depth {
                    return Err(InteropError::Limit(Problem::at(
                        file,
                        Some(here),
                        None,
                        format!("the XML nests deeper than {max_depth} elements; it is rejected as malformed or hostile"),
                    )));
                }
                stack.push(element(&e, here, file)?);
            }
            Event::Empty(e) => {
                if stack.len() >= max_depth {
                    return Err(InteropError::Limit(Problem::at(
                        file,
                        Some(here),
                        None,
                        format!("the XML nests deeper than {max_depth} elements; it is rejected as malformed or hostile"),
                    )));
                }
                let el = element(&e, here, file)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(err(here, "has content after the root element".into())),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(err(here, "has a closing tag without an opening tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved: Option<String> = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    resolve_predefined_entity(&r.xml10_content()).map(str::to_string)
                };
                match resolved {
                    Some(s) => {
                        if let Some(top) = stack.last_mut() {
                            top.text.push_str(&s);
                        }
                    }
                    None => {
                        return Err(err(
                            here,
                            format!(
                                "uses the entity `&{};`, which is not defined in XML; REFI-QDA files use only &amp; &lt; &gt; &quot; &apos; and numeric references",
                                r.xml10_content()
                            ),
                        ))
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(
            line,
            format!(
                "ends before the element <{}> is closed; the file is truncated",
                stack.last().map(|e| e.name.as_str()).unwrap_or("")
            ),
        ));
    }
    root.ok_or_else(|| err(1, "holds no XML element; it is empty or not XML".into()))
}

fn element(e: &quick_xml::events::BytesStart<'_>, line: usize, file: &str) -> Result<Element> {
    let mut el = Element {
        name: local(e.name().as_ref()),
        line,
        ..Default::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|x| {
            InteropError::from(Problem::at(
                file,
                Some(line),
                Some(&format!("<{}>", el.name)),
                format!("has a malformed attribute ({x})"),
            ))
        })?;
        let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(|x| {
            InteropError::from(Problem::at(
                file,
                Some(line),
                Some(&format!("<{}>", el.name)),
                format!("has an attribute value that cannot be read ({x})"),
            ))
        })?;
        el.attrs.push((local(a.key.as_ref()), v.into_owned()));
    }
    Ok(el)
}

fn valid_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for an attribute value (also line breaks and tabs, which XML
/// would otherwise turn into spaces); characters XML cannot hold become U+FFFD.
pub(crate) fn attr(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\n' | '\r' | '\t') || !valid_xml_char(c))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if !valid_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes element text (carriage returns are kept as `&#13;`).
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '\r') || !valid_xml_char(c))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if !valid_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_any_namespace_entities_and_lines() {
        let src = "\u{FEFF}<?xml version=\"1.0\"?>\n<p:Project xmlns:p=\"urn:QDA-XML:project:0.9\" name=\"a &amp; b&#10;c\">\n  <p:Description>x &lt; y &#x1F642;</p:Description>\n  <Codes/>\n</p:Project>";
        let root = parse(src, "t.qde", 10).unwrap();
        assert_eq!(root.name, "Project");
        assert_eq!(root.attr("name"), Some("a & b\nc"));
        assert_eq!(root.child_text("Description"), Some("x < y 🙂"));
        assert_eq!(root.child("Description").unwrap().line, 3);
        assert_eq!(root.child("Codes").unwrap().line, 4);
    }

    #[test]
    fn rejects_deep_nesting_and_broken_xml_with_a_line() {
        let deep = "<a>".repeat(50) + &"</a>".repeat(50);
        assert!(matches!(parse(&deep, "t", 20), Err(InteropError::Limit(_))));
        let e = parse("<a>\n<b>\n</a>", "t.qde", 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.qde line"), "{e}");
        assert!(parse("", "t", 10).is_err());
        assert!(parse("<a/><b/>", "t", 10).is_err());
        assert!(parse("<a>&bogus;</a>", "t", 10).is_err());
    }

    #[test]
    fn escaping_round_trips_through_the_reader() {
        let s = "a&b<c>\"d\"\ne\r\tf\u{1}g";
        let xml = format!("<x v=\"{}\">{}</x>", attr(s), text(s));
        let root = parse(&xml, "t", 10).unwrap();
        assert_eq!(root.attr("v"), Some("a&b<c>\"d\"\ne\r\tf\u{FFFD}g"));
        assert_eq!(root.text, "a&b<c>\"d\"\ne\r\tf\u{FFFD}g");
    }
}
