//! Images in wiki markup: `!file.png|options!` lines ⇄ ADF media nodes.

use serde_json::{Map, Value, json};

pub use crate::model::media::WIKI_FILE_COLLECTION;

/// The ADF block an image line (`!name!`, `!name|options!`) stands for.
pub(super) fn image_line(line: &str) -> Option<Value> {
    let inner = line.strip_prefix('!')?.strip_suffix('!')?;
    if inner.is_empty() || inner.contains('!') || inner.starts_with(char::is_whitespace) {
        return None;
    }
    let (name, options) = match inner.split_once('|') {
        Some((name, options)) => (name, options),
        None => (inner, ""),
    };
    if name.is_empty() || name.trim() != name {
        return None;
    }
    let mut attrs = Map::new();
    if name.starts_with("http://") || name.starts_with("https://") {
        attrs.insert("type".into(), json!("external"));
        attrs.insert("url".into(), json!(name));
    } else {
        attrs.insert("type".into(), json!("file"));
        attrs.insert("id".into(), json!(name));
        attrs.insert("collection".into(), json!(WIKI_FILE_COLLECTION));
    }
    for option in options.split(',') {
        if let Some((key, value)) = option.split_once('=')
            && let key @ ("width" | "height") = key.trim()
            && let Ok(n) = value.trim().parse::<u32>()
        {
            attrs.insert(key.into(), json!(n));
        }
    }
    Some(json!({"type": "mediaSingle", "attrs": {"layout": "center"},
                "content": [{"type": "media", "attrs": attrs}]}))
}

/// Writes the media nodes of a `mediaSingle`, `mediaGroup` or `media` node as
/// image lines, one block each.
pub(super) fn write_media(node: &Value, out: &mut Vec<String>) {
    if node.get("type").and_then(Value::as_str) == Some("media") {
        out.extend(media_line(node));
        return;
    }
    for child in node
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        if child.get("type").and_then(Value::as_str) == Some("media") {
            out.extend(media_line(child));
        }
    }
}

fn media_line(media: &Value) -> Option<String> {
    let attrs = media.get("attrs")?;
    let text = |name: &str| attrs.get(name).and_then(Value::as_str);
    let writable = |s: &str| {
        !s.is_empty()
            && s.trim() == s
            && !s.contains(['!', '|', '\n', '\r'])
            && image_line(&format!("!{s}!")).is_some()
    };
    match text("type") {
        Some("external") => {
            let url = text("url").filter(|u| writable(u))?;
            Some(format!("!{url}!"))
        }
        Some("file") if text("collection") == Some(WIKI_FILE_COLLECTION) => {
            let name = text("id").filter(|n| writable(n))?;
            if name.starts_with("http://") || name.starts_with("https://") {
                return None;
            }
            let size = |k: &str| {
                attrs
                    .get(k)
                    .and_then(Value::as_u64)
                    .filter(|n| *n <= u32::MAX as u64)
            };
            let options = match (size("width"), size("height")) {
                (None, None) => "thumbnail".to_owned(),
                (w, h) => [("width", w), ("height", h)]
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            Some(format!("!{name}|{options}!"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{adf_to_wiki, wiki_to_adf};
    use serde_json::json;

    #[test]
    fn image_lines_read_and_write() {
        let adf = wiki_to_adf(
            "Look:\n\n!shot.png|thumbnail!\n\n!https://example.com/a.png!\n\n!big.png|width=300,height=200,align=right!",
        );
        let content = adf["content"].as_array().unwrap();
        assert_eq!(content.len(), 4, "{adf}");
        assert_eq!(
            content[1]["content"][0]["attrs"],
            json!({"type": "file", "id": "shot.png", "collection": super::WIKI_FILE_COLLECTION})
        );
        assert_eq!(
            content[2]["content"][0]["attrs"],
            json!({"type": "external", "url": "https://example.com/a.png"})
        );
        assert_eq!(content[3]["content"][0]["attrs"]["width"], json!(300));
        assert_eq!(
            adf_to_wiki(&adf),
            "Look:\n\n!shot.png|thumbnail!\n\n!https://example.com/a.png!\n\n!big.png|width=300,height=200!"
        );
    }

    #[test]
    fn text_that_looks_like_an_image_stays_text() {
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "!alarm!"}]}]});
        let wiki = adf_to_wiki(&adf);
        assert_eq!(wiki, "&#33;alarm!");
        assert_eq!(wiki_to_adf(&wiki), adf);
        assert_eq!(
            wiki_to_adf("Wow! and !inline.png! stay text")["content"][0]["type"],
            json!("paragraph")
        );
    }
}
