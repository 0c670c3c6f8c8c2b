//! The subset of Go's `text/template` that Fulcio's `ci-provider` templates use (ca.md §7.3).
//!
//! Supported: literal text, `{{ .claim }}`, `{{ index . "claim/with.dots" }}`, parentheses,
//! `{{ if eq A B }}…{{ else }}…{{ end }}`, and the `{{-`/`-}}` trim markers. A field missing from
//! the claim map is an error ("missing key is an error"); `index` of a missing key is empty, as in
//! Go. Output is not HTML-escaped. A template without `{{` names one claim directly. Anything else
//! fails to parse, which Fulcio's load-time validation would also refuse for its own reasons.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub enum Template {
    /// A template without `{{`: the name of one claim.
    Claim(String),
    Nodes(Vec<Node>),
}

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Print(Expr),
    If {
        condition: Expr,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
pub enum Expr {
    Dot,
    Field(String),
    Literal(String),
    Eq(Box<Expr>, Box<Expr>),
    Index(Box<Expr>, Box<Expr>),
}

enum Value<'a> {
    Map(&'a BTreeMap<String, String>),
    Text(String),
    Bool(bool),
}

impl Template {
    /// # Errors
    /// A text naming the construct that is not understood.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.contains("{{") {
            return Ok(Self::Claim(text.to_owned()));
        }
        let pieces = split_actions(text)?;
        let mut iter = pieces.into_iter();
        let (nodes, end) = parse_nodes(&mut iter)?;
        match end {
            None => Ok(Self::Nodes(nodes)),
            Some(word) => Err(format!("unexpected {{{{{word}}}}}")),
        }
    }

    /// Renders over the flattened claims.
    ///
    /// # Errors
    /// A missing claim or a type error, as text for the client (ca.md §14).
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, String> {
        match self {
            Self::Claim(name) => values
                .get(name)
                .cloned()
                .ok_or_else(|| format!("value for {name:?} not found")),
            Self::Nodes(nodes) => {
                let mut out = String::new();
                render_nodes(nodes, values, &mut out)?;
                Ok(out)
            }
        }
    }
}

enum Piece {
    Text(String),
    Action(String),
}

fn split_actions(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let mut literal = &rest[..start];
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed action")?;
        let mut action = &after[..end];
        if let Some(trimmed) = action.strip_prefix('-') {
            action = trimmed;
            literal = literal.trim_end();
        }
        let mut next = &after[end + 2..];
        if let Some(trimmed) = action.strip_suffix('-') {
            action = trimmed;
            next = next.trim_start();
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal.to_owned()));
        }
        pieces.push(Piece::Action(action.trim().to_owned()));
        rest = next;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// Parses until `else`/`end` (returned) or the end of input (`None`).
fn parse_nodes(
    pieces: &mut impl Iterator<Item = Piece>,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        match piece {
            Piece::Text(text) => nodes.push(Node::Text(text)),
            Piece::Action(action) if action == "else" || action == "end" => {
                return Ok((nodes, Some(action)));
            }
            Piece::Action(action) => {
                if let Some(condition) = action.strip_prefix("if ") {
                    let condition = parse_expr(condition)?;
                    let (then, end) = parse_nodes(pieces)?;
                    let otherwise = match end.as_deref() {
                        Some("end") => Vec::new(),
                        Some("else") => match parse_nodes(pieces)? {
                            (otherwise, Some(word)) if word == "end" => otherwise,
                            _ => return Err("if without end".into()),
                        },
                        _ => return Err("if without end".into()),
                    };
                    nodes.push(Node::If {
                        condition,
                        then,
                        otherwise,
                    });
                } else {
                    nodes.push(Node::Print(parse_expr(&action)?));
                }
            }
        }
    }
    Ok((nodes, None))
}

fn parse_expr(text: &str) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    let mut position = 0;
    let expr = parse_command(&tokens, &mut position)?;
    if position == tokens.len() {
        Ok(expr)
    } else {
        Err(format!("unexpected token in {text:?}"))
    }
}

fn parse_command(tokens: &[String], position: &mut usize) -> Result<Expr, String> {
    let head = tokens.get(*position).ok_or("empty command")?;
    if head == "eq" || head == "index" {
        *position += 1;
        let left = parse_operand(tokens, position)?;
        let right = parse_operand(tokens, position)?;
        return Ok(if head == "eq" {
            Expr::Eq(Box::new(left), Box::new(right))
        } else {
            Expr::Index(Box::new(left), Box::new(right))
        });
    }
    parse_operand(tokens, position)
}

fn parse_operand(tokens: &[String], position: &mut usize) -> Result<Expr, String> {
    let token = tokens.get(*position).ok_or("missing operand")?;
    *position += 1;
    if token == "(" {
        let inner = parse_command(tokens, position)?;
        if tokens.get(*position).map(String::as_str) != Some(")") {
            return Err("unclosed parenthesis".into());
        }
        *position += 1;
        return Ok(inner);
    }
    if token == "." {
        return Ok(Expr::Dot);
    }
    if let Some(field) = token.strip_prefix('.') {
        return Ok(Expr::Field(field.to_owned()));
    }
    if let Some(literal) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Ok(Expr::Literal(literal.to_owned()));
    }
    Err(format!("function or operand {token:?} not supported"))
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut literal = String::from('"');
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => literal.push(chars.next().ok_or("unterminated string")?),
                    Some(other) => literal.push(other),
                    None => return Err("unterminated string".into()),
                }
            }
            literal.push('"');
            tokens.push(literal);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        }
    }
    Ok(tokens)
}

fn render_nodes(
    nodes: &[Node],
    values: &BTreeMap<String, String>,
    out: &mut String,
) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Print(expr) => match evaluate(expr, values)? {
                Value::Text(text) => out.push_str(&text),
                Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Value::Map(_) => return Err("cannot print the claim map".into()),
            },
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                let truth = match evaluate(condition, values)? {
                    Value::Bool(b) => b,
                    Value::Text(text) => !text.is_empty(),
                    Value::Map(map) => !map.is_empty(),
                };
                render_nodes(if truth { then } else { otherwise }, values, out)?;
            }
        }
    }
    Ok(())
}

fn evaluate<'a>(expr: &Expr, values: &'a BTreeMap<String, String>) -> Result<Value<'a>, String> {
    Ok(match expr {
        Expr::Dot => Value::Map(values),
        Expr::Field(name) => Value::Text(
            values
                .get(name)
                .cloned()
                .ok_or_else(|| format!("map has no entry for key {name:?}"))?,
        ),
        Expr::Literal(text) => Value::Text(text.clone()),
        Expr::Eq(left, right) => match (evaluate(left, values)?, evaluate(right, values)?) {
            (Value::Text(a), Value::Text(b)) => Value::Bool(a == b),
            (Value::Bool(a), Value::Bool(b)) => Value::Bool(a == b),
            _ => return Err("incompatible types for comparison".into()),
        },
        Expr::Index(map, key) => match (evaluate(map, values)?, evaluate(key, values)?) {
            (Value::Map(map), Value::Text(key)) => {
                Value::Text(map.get(&key).cloned().unwrap_or_default())
            }
            _ => return Err("index of a non-map".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn renders_the_public_good_templates() {
        let v = values(&[
            ("url", "https://gitlab.com"),
            ("ref_type", "tag"),
            ("ref", "v1"),
            ("a/b.c", "x"),
        ]);
        let render = |t: &str| Template::parse(t).expect("parses").render(&v);
        assert_eq!(
            render("refs/{{if eq .ref_type \"branch\"}}heads/{{ else }}tags/{{end}}{{ .ref }}"),
            Ok("refs/tags/v1".into())
        );
        assert_eq!(
            render("{{.url}}/{{ (index . \"a/b.c\") }}"),
            Ok("https://gitlab.com/x".into())
        );
        assert_eq!(render("ref"), Ok("v1".into()));
        assert_eq!(
            render("{{ .nope }}"),
            Err("map has no entry for key \"nope\"".into())
        );
        assert_eq!(render("nope"), Err("value for \"nope\" not found".into()));
        assert_eq!(
            render("{{if eq (index . \"missing\") \"true\"}}yes{{ else }}\"\"{{end}}"),
            Ok("\"\"".into())
        );
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(Template::parse("{{ printf \"%s\" .x }}").is_err());
        assert!(Template::parse("{{ if .x }}open").is_err());
        assert!(Template::parse("{{ .x ").is_err());
    }
}
