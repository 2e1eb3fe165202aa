//! Kafka's command-line conventions (its tools use jopt-simple): `--name value` or
//! `--name=value`, options given in any order and some repeatable, and a long name may be
//! shortened to any prefix that names one option only.

use std::collections::BTreeMap;

use super::ToolError;

/// What follows an option on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// A switch: `--list`.
    Nothing,
    /// A value, always: `--topic t` (even one starting with `-`, as `--shift-by -5`).
    Value,
    /// A value if the next word is not an option: `--compression-codec [gzip]`.
    MaybeValue,
}

/// One option a tool knows.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub takes: Takes,
    /// Kafka's tool has it, rill's does not: why, for the error.
    pub unsupported: Option<&'static str>,
}

pub const fn flag(name: &'static str) -> Opt {
    Opt {
        name,
        takes: Takes::Nothing,
        unsupported: None,
    }
}

pub const fn value(name: &'static str) -> Opt {
    Opt {
        name,
        takes: Takes::Value,
        unsupported: None,
    }
}

pub const fn maybe_value(name: &'static str) -> Opt {
    Opt {
        name,
        takes: Takes::MaybeValue,
        unsupported: None,
    }
}

/// An option of Kafka's tool that rill's refuses (with `why`).
pub const fn unsupported(name: &'static str, takes: Takes, why: &'static str) -> Opt {
    Opt {
        name,
        takes,
        unsupported: Some(why),
    }
}

/// The options given, in order.
#[derive(Debug, Default)]
pub struct Parsed {
    seen: Vec<(&'static str, Option<String>)>,
}

impl Parsed {
    pub fn has(&self, name: &str) -> bool {
        self.seen.iter().any(|(n, _)| *n == name)
    }

    /// The value of the last `--name`, if it was given with one.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.seen
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value given to `--name`, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.seen
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    /// `--name`'s value parsed as a number.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ToolError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| ToolError::Usage(format!("--{name}: '{v}' is not a valid number"))),
        }
    }

    /// `key=value` pairs from every `--name` (Kafka's parseKeyValueArgs: split at the
    /// first `=`; a pair without one is an error).
    pub fn key_values(&self, name: &str) -> Result<BTreeMap<String, String>, ToolError> {
        let mut out = BTreeMap::new();
        for kv in self.values(name) {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                ToolError::Usage(format!("--{name} expects key=value, got '{kv}'"))
            })?;
            out.insert(k.trim().to_string(), v.to_string());
        }
        Ok(out)
    }

    /// How many of these options were given.
    pub fn count_of(&self, names: &[&str]) -> usize {
        names.iter().filter(|n| self.has(n)).count()
    }
}

/// Finds `word` (without its dashes) among `specs`: the exact name, else the one name
/// it is a prefix of.
fn lookup<'a>(specs: &'a [Opt], word: &str) -> Result<&'a Opt, ToolError> {
    if let Some(o) = specs.iter().find(|o| o.name == word) {
        return Ok(o);
    }
    let matches: Vec<&Opt> = specs.iter().filter(|o| o.name.starts_with(word)).collect();
    match matches.as_slice() {
        [one] if !word.is_empty() => Ok(one),
        [] | [_] => Err(ToolError::Usage(format!(
            "--{word} is not a recognized option"
        ))),
        many => Err(ToolError::Usage(format!(
            "--{word} is ambiguous: it could be {}",
            many.iter()
                .map(|o| format!("--{}", o.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Parses `args` against `specs`. `--help` is returned as a seen option named "help"
/// when the tool lists it.
pub fn parse(specs: &[Opt], args: &[String]) -> Result<Parsed, ToolError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(body) = arg.strip_prefix("--").or_else(|| {
            // jopt-simple also reads a single dash before a long name.
            arg.strip_prefix('-').filter(|b| b.len() > 1)
        }) else {
            return Err(ToolError::Usage(format!(
                "unexpected argument '{arg}' (options start with --)"
            )));
        };
        let (word, inline) = match body.split_once('=') {
            Some((w, v)) => (w, Some(v.to_string())),
            None => (body, None),
        };
        let opt = lookup(specs, word)?;
        if let Some(why) = opt.unsupported {
            return Err(ToolError::Usage(format!(
                "--{} is not supported by rill's version of this tool ({why})",
                opt.name
            )));
        }
        let value = match (opt.takes, inline) {
            (Takes::Nothing, Some(_)) => {
                return Err(ToolError::Usage(format!(
                    "--{} does not take a value",
                    opt.name
                )))
            }
            (Takes::Nothing, None) => None,
            (_, Some(v)) => Some(v),
            (Takes::Value, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    Some(v.clone())
                }
                None => return Err(ToolError::Usage(format!("--{} requires a value", opt.name))),
            },
            (Takes::MaybeValue, None) => match args.get(i) {
                Some(v) if !v.starts_with('-') => {
                    i += 1;
                    Some(v.clone())
                }
                _ => None,
            },
        };
        out.seen.push((opt.name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Opt] = &[
        value("bootstrap-server"),
        flag("list"),
        value("topic"),
        value("shift-by"),
        value("config"),
        maybe_value("compression-codec"),
        flag("describe"),
        flag("delete"),
        value("delete-config"),
        unsupported("zookeeper", Takes::Value, "Kafka 3 removed it too"),
    ];

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_and_switches() {
        let p = parse(
            SPECS,
            &args(&[
                "--bootstrap-server",
                "h:1",
                "--list",
                "--topic=a",
                "--config",
                "x=1",
                "--config",
                "y=2=3",
                "--shift-by",
                "-5",
            ]),
        )
        .unwrap();
        assert_eq!(p.value("bootstrap-server"), Some("h:1"));
        assert!(p.has("list"));
        assert!(!p.has("describe"));
        assert_eq!(p.value("topic"), Some("a"));
        assert_eq!(p.values("config"), vec!["x=1", "y=2=3"]);
        assert_eq!(p.number::<i64>("shift-by").unwrap(), Some(-5));
        let kv = p.key_values("config").unwrap();
        assert_eq!(kv["y"], "2=3");
    }

    #[test]
    fn optional_values() {
        let p = parse(SPECS, &args(&["--compression-codec", "--list"])).unwrap();
        assert!(p.has("compression-codec"));
        assert_eq!(p.value("compression-codec"), None);
        let p = parse(SPECS, &args(&["--compression-codec", "zstd"])).unwrap();
        assert_eq!(p.value("compression-codec"), Some("zstd"));
    }

    #[test]
    fn prefixes_and_errors() {
        let p = parse(SPECS, &args(&["--bootstrap", "h:1", "--desc"])).unwrap();
        assert_eq!(p.value("bootstrap-server"), Some("h:1"));
        assert!(p.has("describe"));
        let e = parse(SPECS, &args(&["--nope"])).unwrap_err().to_string();
        assert!(e.contains("--nope is not a recognized option"), "{e}");
        // "--de" could be --describe, --delete or --delete-config.
        let e = parse(SPECS, &args(&["--de"])).unwrap_err().to_string();
        assert!(e.contains("ambiguous"), "{e}");
        // An exact name wins over longer names it prefixes.
        let p = parse(SPECS, &args(&["--delete"])).unwrap();
        assert!(p.has("delete"));
        let e = parse(SPECS, &args(&["--topic"])).unwrap_err().to_string();
        assert!(e.contains("requires a value"), "{e}");
        let e = parse(SPECS, &args(&["--list=1"])).unwrap_err().to_string();
        assert!(e.contains("does not take a value"), "{e}");
        let e = parse(SPECS, &args(&["--zookeeper", "z:2181"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--zookeeper is not supported"), "{e}");
        let e = parse(SPECS, &args(&["stray"])).unwrap_err().to_string();
        assert!(e.contains("'stray'"), "{e}");
    }
}
