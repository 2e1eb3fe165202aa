//! Decoded responses as trees of fields, read from their pretty `{:#?}` form, and the
//! field-by-field comparison of two trees.
//!
//! kafka-protocol's types all derive `Debug`, so one parser covers every API: a struct
//! prints `Name {` … `}` with `field: value,` lines, a list `[` … `]`, a tuple struct or
//! `Some` `Name(` … `)`, a map `{` … `}` with `key: value,` lines, and every leaf (number,
//! quoted string, `b"bytes"`, UUID, unit variant) on one line.

use std::collections::HashSet;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Leaf(String),
    /// A struct (its type name) or a map (empty name): named fields in order.
    Struct(String, Vec<(String, Node)>),
    /// A tuple struct or variant (`BrokerId(1)`, `Some(x)`): its items.
    Tuple(String, Vec<Node>),
    List(Vec<Node>),
}

/// Parses the `{:#?}` text of a value.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or("empty text")?;
    let node = parse_value(first, &mut lines)?;
    match lines.next() {
        None => Ok(node),
        Some(extra) => Err(format!("text after the value: {extra:?}")),
    }
}

/// The tree of any `Debug` value.
pub fn tree_of<T: fmt::Debug>(value: &T) -> Node {
    let text = format!("{value:#?}");
    parse(&text).unwrap_or_else(|e| panic!("unparsable Debug text ({e}):\n{text}"))
}

fn parse_value<'a>(rest: &str, lines: &mut impl Iterator<Item = &'a str>) -> Result<Node, String> {
    let rest = rest.strip_suffix(',').unwrap_or(rest);
    if rest == "[]" {
        return Ok(Node::List(Vec::new()));
    }
    if rest == "{}" {
        return Ok(Node::Struct(String::new(), Vec::new()));
    }
    if let Some(name) = rest.strip_suffix('{') {
        let mut fields = Vec::new();
        loop {
            let line = lines.next().ok_or("unclosed {")?;
            if line.trim_end_matches(',') == "}" {
                return Ok(Node::Struct(name.trim().to_string(), fields));
            }
            let (key, value) = split_key(line)?;
            fields.push((key, parse_value(value, lines)?));
        }
    }
    let (close, list) = if rest == "[" {
        ("]", true)
    } else if rest.ends_with('(') {
        (")", false)
    } else {
        return Ok(Node::Leaf(rest.to_string()));
    };
    let mut items = Vec::new();
    loop {
        let line = lines.next().ok_or("unclosed list or tuple")?;
        if line.trim_end_matches(',') == close {
            break;
        }
        items.push(parse_value(line, lines)?);
    }
    Ok(if list {
        Node::List(items)
    } else {
        Node::Tuple(rest.trim_end_matches('(').to_string(), items)
    })
}

/// `key: value` of a struct field or map entry; a quoted key may hold `": "`.
fn split_key(line: &str) -> Result<(String, &str), String> {
    let end = if let Some(quoted) = line.strip_prefix('"') {
        let mut escaped = false;
        let close = quoted
            .char_indices()
            .find(|&(_, c)| {
                let hit = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                hit
            })
            .map(|(i, _)| i + 2)
            .ok_or_else(|| format!("unclosed key in {line:?}"))?;
        if !line[close..].starts_with(": ") {
            return Err(format!("no ': ' after the key in {line:?}"));
        }
        close
    } else {
        line.find(": ")
            .ok_or_else(|| format!("no field name in {line:?}"))?
    };
    Ok((line[..end].to_string(), &line[end + 2..]))
}

impl Node {
    /// The node with one-item tuples (`Some(x)`, `BrokerId(1)`) seen through.
    pub fn inner(&self) -> &Node {
        match self {
            Node::Tuple(_, items) if items.len() == 1 => items[0].inner(),
            n => n,
        }
    }

    /// The leaf value of a struct's field (through one-item tuples).
    pub fn field(&self, name: &str) -> Option<&str> {
        match self.inner() {
            Node::Struct(_, fields) => {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| match v.inner() {
                        Node::Leaf(s) => Some(s.as_str()),
                        _ => None,
                    })
            }
            _ => None,
        }
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        match self {
            Node::Leaf(_) => 1,
            Node::Struct(_, f) => f.iter().map(|(_, n)| n.leaves()).sum(),
            Node::Tuple(_, items) | Node::List(items) => items.iter().map(Node::leaves).sum(),
        }
    }
}

/// One line, for values of a subtree that has no counterpart.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Leaf(s) => f.write_str(s),
            Node::Struct(name, fields) => {
                if !name.is_empty() {
                    write!(f, "{name} ")?;
                }
                if fields.is_empty() {
                    return f.write_str("{}");
                }
                for (i, (k, v)) in fields.iter().enumerate() {
                    write!(f, "{}{k}: {v}", if i == 0 { "{ " } else { ", " })?;
                }
                f.write_str(" }")
            }
            Node::Tuple(name, items) => {
                write!(f, "{name}(")?;
                for (i, v) in items.iter().enumerate() {
                    write!(f, "{}{v}", if i == 0 { "" } else { ", " })?;
                }
                f.write_str(")")
            }
            Node::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    write!(f, "{}{v}", if i == 0 { "" } else { ", " })?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A field that differs: its path and each side's value (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub path: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// Fields that identify a list's items: lists whose items all carry one (uniquely) are
/// aligned by it, so an item missing on one side does not shift the rest.
const KEY_FIELDS: &[&str] = &[
    "api_key",
    "partition_index",
    "partition",
    "index",
    "name",
    "topic",
    "resource_name",
    "group_id",
    "key",
];

/// Every field where `a` and `b` differ, with its path (`topics[name="t"].partitions[0]…`).
pub fn compare(a: &Node, b: &Node) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare_at(a, b, String::new(), &mut out);
    out
}

fn push(out: &mut Vec<FieldDiff>, path: &str, a: Option<&Node>, b: Option<&Node>) {
    out.push(FieldDiff {
        path: if path.is_empty() {
            ".".into()
        } else {
            path.to_string()
        },
        a: a.map(Node::to_string),
        b: b.map(Node::to_string),
    });
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn compare_at(a: &Node, b: &Node, path: String, out: &mut Vec<FieldDiff>) {
    match (a.inner(), b.inner()) {
        (Node::Leaf(x), Node::Leaf(y)) => {
            if x != y || a != b {
                push(out, &path, Some(a), Some(b));
            }
        }
        (Node::Struct(na, fa), Node::Struct(nb, fb)) if na == nb => {
            for (k, va) in fa {
                match fb.iter().find(|(kb, _)| kb == k) {
                    Some((_, vb)) => compare_at(va, vb, join(&path, k), out),
                    None => push(out, &join(&path, k), Some(va), None),
                }
            }
            for (k, vb) in fb {
                if !fa.iter().any(|(ka, _)| ka == k) {
                    push(out, &join(&path, k), None, Some(vb));
                }
            }
        }
        (Node::Tuple(na, ia), Node::Tuple(nb, ib)) if na == nb && ia.len() == ib.len() => {
            for (i, (x, y)) in ia.iter().zip(ib).enumerate() {
                compare_at(x, y, join(&path, &i.to_string()), out);
            }
        }
        (Node::List(ia), Node::List(ib)) => compare_lists(ia, ib, &path, out),
        _ => {
            if a != b {
                push(out, &path, Some(a), Some(b));
            }
        }
    }
}

fn compare_lists(ia: &[Node], ib: &[Node], path: &str, out: &mut Vec<FieldDiff>) {
    let key = KEY_FIELDS
        .iter()
        .copied()
        .find(|k| list_key_is(ia, k) && list_key_is(ib, k));
    let Some(key) = key else {
        for i in 0..ia.len().max(ib.len()) {
            let p = format!("{path}[{i}]");
            match (ia.get(i), ib.get(i)) {
                (Some(x), Some(y)) => compare_at(x, y, p, out),
                (x, y) => push(out, &p, x, y),
            }
        }
        return;
    };
    let keys = |items: &[Node]| -> Vec<String> {
        items
            .iter()
            .map(|n| n.field(key).unwrap_or_default().to_string())
            .collect()
    };
    let (ka, kb) = (keys(ia), keys(ib));
    for (i, k) in ka.iter().enumerate() {
        let p = format!("{path}[{key}={k}]");
        match kb.iter().position(|x| x == k) {
            Some(j) => compare_at(&ia[i], &ib[j], p, out),
            None => push(out, &p, Some(&ia[i]), None),
        }
    }
    for (j, k) in kb.iter().enumerate() {
        if !ka.contains(k) {
            push(out, &format!("{path}[{key}={k}]"), None, Some(&ib[j]));
        }
    }
    let common_a: Vec<&String> = ka.iter().filter(|k| kb.contains(k)).collect();
    let common_b: Vec<&String> = kb.iter().filter(|k| ka.contains(k)).collect();
    if common_a != common_b {
        out.push(FieldDiff {
            path: format!("{path} (order of {key})"),
            a: Some(format!("{common_a:?}")),
            b: Some(format!("{common_b:?}")),
        });
    }
}

fn list_key_is(items: &[Node], key: &str) -> bool {
    let mut seen = HashSet::new();
    items
        .iter()
        .all(|item| item.field(key).is_some_and(|v| seen.insert(v.to_string())))
}
