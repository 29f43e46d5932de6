//! Tokenizer for the schema language, with `//` and `/* */` comments.

use super::super::ZanzibarError;

/// A schema token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    Colon,
    Pipe,
    Hash,
    Eq,
    Plus,
    Amp,
    Minus,
    Arrow,
    Star,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Ident(s) => format!("`{s}`"),
            Self::LBrace => "`{`".into(),
            Self::RBrace => "`}`".into(),
            Self::LParen => "`(`".into(),
            Self::RParen => "`)`".into(),
            Self::Colon => "`:`".into(),
            Self::Pipe => "`|`".into(),
            Self::Hash => "`#`".into(),
            Self::Eq => "`=`".into(),
            Self::Plus => "`+`".into(),
            Self::Amp => "`&`".into(),
            Self::Minus => "`-`".into(),
            Self::Arrow => "`->`".into(),
            Self::Star => "`*`".into(),
        }
    }
}

/// A token with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits schema text into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ZanzibarError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let simple = match b {
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b':' => Some(Tok::Colon),
            b'|' => Some(Tok::Pipe),
            b'#' => Some(Tok::Hash),
            b'=' => Some(Tok::Eq),
            b'+' => Some(Tok::Plus),
            b'&' => Some(Tok::Amp),
            b'*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, line });
            i += 1;
            continue;
        }
        match b {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'-' if next == Some(b'>') => {
                out.push(Token {
                    tok: Tok::Arrow,
                    line,
                });
                i += 2;
            }
            b'-' => {
                out.push(Token {
                    tok: Tok::Minus,
                    line,
                });
                i += 1;
            }
            b'/' if next == Some(b'/') => {
                while let Some(&c) = bytes.get(i) {
                    if c == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            b'/' if next == Some(b'*') => {
                let start_line = line;
                i += 2;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(ZanzibarError::schema(
                                "unterminated block comment",
                                Some(start_line),
                            ));
                        }
                        Some(b'*') if bytes.get(i + 1) == Some(&b'/') => {
                            i += 2;
                            break;
                        }
                        Some(b'\n') => {
                            line += 1;
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            _ if is_ident_byte(b) => {
                let start = i;
                while let Some(&c) = bytes.get(i) {
                    let joins_namespace =
                        c == b'/' && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic);
                    if is_ident_byte(c) || joins_namespace {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let text = src.get(start..i).unwrap_or_default().to_string();
                out.push(Token {
                    tok: Tok::Ident(text),
                    line,
                });
            }
            _ => {
                let ch = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(ZanzibarError::schema(
                    format!("unexpected character `{}`", ch.escape_debug()),
                    Some(line),
                ));
            }
        }
    }
    Ok(out)
}
