//! The plain-text part of an HTML email: tags dropped, block ends turned into line breaks,
//! links written as `text (url)`, the common entities decoded.

/// Tags after which a line ends.
const BLOCKS: [&str; 12] = [
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol",
];

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `href` of an `<a ...>` tag's inside, if it has one.
fn href(tag: &str) -> Option<String> {
    let at = tag.to_ascii_lowercase().find("href=")?;
    let value = &tag[at + 5..];
    let quote = value.chars().next()?;
    let url = if quote == '"' || quote == '\'' {
        value[1..].split(quote).next()?
    } else {
        value.split(|c: char| c.is_whitespace()).next()?
    };
    Some(decode_entities(url))
}

/// The text of `html`, one paragraph per line group.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut link: Option<String> = None;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&decode_entities(&rest[open..]));
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name == "a" && !closing {
            link = href(tag);
        } else if name == "a" {
            if let Some(url) = link.take() {
                out.push_str(&format!(" ({url})"));
            }
        } else if BLOCKS.contains(&name.as_str()) && (closing || name == "br") {
            out.push('\n');
        }
    }
    out.push_str(&decode_entities(rest));
    // Collapse each line's spaces and keep at most one blank line between paragraphs.
    let mut lines: Vec<String> = Vec::new();
    for line in out.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_links_and_entities() {
        let text = html_to_text(
            "<p>Hello  Ada &amp; co,</p>\n<p><a href=\"https://x.test/?a=1&amp;b=2\">Go</a></p><p>&#x2f;end&lt;</p>",
        );
        assert_eq!(
            text,
            "Hello Ada & co,\n\nGo (https://x.test/?a=1&b=2)\n/end<"
        );
    }

    #[test]
    fn text_without_tags_is_kept() {
        assert_eq!(html_to_text("just text & more"), "just text & more");
        assert_eq!(html_to_text("a < b"), "a < b");
    }
}
