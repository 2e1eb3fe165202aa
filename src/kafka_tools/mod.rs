//! Kafka's shell tools without a JVM: `rill kafka-tools install DIR` writes
//! `DIR/bin/kafka-topics.sh` and friends, small `#!/bin/sh` scripts that run this binary
//! as `rill kafka-tool <tool> "$@"`. Each tool reads Kafka's own flags for their common
//! uses and prints Kafka's output formats where scripts read them; it talks to the broker
//! through `crate::client` (so to any Kafka broker, not only rill).
//!
//! One file per tool; `args.rs` is Kafka's flag syntax, `props.rs` its `.properties`
//! files. A flag rill's tools do not know or do not support ends the tool with one line
//! on stderr naming it, and exit code 1.

/// `println!` that ignores a closed stdout (`| head`), as Java's `System.out` does.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

pub mod acls;
pub mod args;
pub mod configs;
pub mod console_consumer;
pub mod console_producer;
pub mod groups;
pub mod props;
pub mod topics;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use thiserror::Error;

use crate::admin::AdminError;
use crate::client::{ClientError, Cluster};

/// The tools `install` writes, by script name without `.sh`.
pub const TOOLS: &[&str] = &[
    "kafka-topics",
    "kafka-configs",
    "kafka-consumer-groups",
    "kafka-acls",
    "kafka-console-producer",
    "kafka-console-consumer",
];

#[derive(Debug, Error)]
pub enum ToolError {
    /// A flag problem: unknown, unsupported, missing, or a bad value.
    #[error("{0}")]
    Usage(String),
    /// A request Kafka's tool refuses before asking the broker (its
    /// IllegalArgumentException): printed alone on stderr.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{0}")]
    Failed(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The tool already printed what went wrong (Kafka's own format); just exit 1.
    #[error("")]
    Reported,
}

/// `rill kafka-tool TOOL ARGS...`: runs one tool; the exit code is Kafka's (0 or 1).
pub fn run(tool: &str, args: &[String]) -> ExitCode {
    let script = format!("{tool}.sh");
    let result = match tool {
        "kafka-topics" => topics::run(args),
        "kafka-configs" => configs::run(args),
        "kafka-consumer-groups" => groups::run(args),
        "kafka-acls" => acls::run(args),
        "kafka-console-producer" => console_producer::run(args),
        "kafka-console-consumer" => console_consumer::run(args),
        _ => {
            eprintln!(
                "rill kafka-tool: unknown tool '{tool}' (one of: {})",
                TOOLS.join(", ")
            );
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // stdout closed by the reader (`| head`): done, as for Kafka's tools.
        Err(ToolError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            report(tool, &script, args, &e);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error where and how Kafka's tool prints it.
fn report(tool: &str, script: &str, args: &[String], e: &ToolError) {
    match e {
        ToolError::Reported => {}
        ToolError::Usage(msg) => eprintln!("{script}: {msg} (see --help)"),
        ToolError::Invalid(msg) => eprintln!("{msg}"),
        e => match tool {
            "kafka-topics" => say!("Error while executing topic command : {e}"),
            "kafka-configs" => {
                eprintln!(
                    "Error while executing config command with args '{}'",
                    args.join(" ")
                );
                eprintln!("{e}");
            }
            "kafka-consumer-groups" => say!("\nError: {e}"),
            "kafka-acls" => say!("Error while executing ACL command: {e}"),
            _ => eprintln!("{script}: {e}"),
        },
    }
}

/// Parses a tool's flags; `None` when `--help` or `--version` was answered instead.
pub fn parse_or_help(
    script: &str,
    about: &str,
    specs: &[args::Opt],
    argv: &[String],
) -> Result<Option<args::Parsed>, ToolError> {
    let p = args::parse(specs, argv)?;
    if p.has("help") {
        print_help(script, about, specs);
        return Ok(None);
    }
    if p.has("version") {
        say!("rill {}", env!("CARGO_PKG_VERSION"));
        return Ok(None);
    }
    Ok(Some(p))
}

/// `--help`: the options this tool reads.
pub fn print_help(script: &str, about: &str, specs: &[args::Opt]) {
    say!("{script} (rill {}): {about}", env!("CARGO_PKG_VERSION"));
    say!("Kafka's flags that rill's version reads:");
    for o in specs.iter().filter(|o| o.unsupported.is_none()) {
        let v = match o.takes {
            args::Takes::Nothing => "",
            args::Takes::Value => " <value>",
            args::Takes::MaybeValue => " [value]",
        };
        say!("  --{}{v}", o.name);
    }
    let refused: Vec<String> = specs
        .iter()
        .filter(|o| o.unsupported.is_some())
        .map(|o| format!("--{}", o.name))
        .collect();
    if !refused.is_empty() {
        say!("Kafka's flags it refuses: {}", refused.join(" "));
    }
}

/// Writes `DIR/bin/<tool>.sh` for every tool, each running `rill_bin`; returns the paths.
pub fn install(dir: &Path, rill_bin: &Path) -> Result<Vec<PathBuf>, ToolError> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let mut out = Vec::new();
    for tool in TOOLS {
        let path = bin.join(format!("{tool}.sh"));
        let script = format!(
            "#!/bin/sh\n# Kafka's {tool}.sh, answered by rill (no JVM). Written by `rill kafka-tools install`.\nexec {} kafka-tool {tool} \"$@\"\n",
            shell_quote(&rill_bin.to_string_lossy())
        );
        let tmp = path.with_extension("sh.tmp");
        std::fs::write(&tmp, script)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::rename(&tmp, &path)?;
        out.push(path);
    }
    Ok(out)
}

/// `s` in single quotes for sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The broker connection every tool opens: `--bootstrap-server` over the
/// `bootstrap.servers` of a `--command-config` file, with its timeouts.
pub struct Connect {
    pub bootstrap: String,
    pub timeout: Duration,
}

impl Connect {
    /// From the flag and the client properties (checked: plaintext only).
    pub fn new(
        flag: Option<&str>,
        props: &BTreeMap<String, String>,
        timeout_override: Option<u64>,
    ) -> Result<Connect, ToolError> {
        props::check_plaintext(props)?;
        let bootstrap = flag
            .map(str::to_string)
            .or_else(|| props.get("bootstrap.servers").cloned())
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| ToolError::Usage("--bootstrap-server must be specified".into()))?;
        let ms = timeout_override
            .or_else(|| {
                props
                    .get("default.api.timeout.ms")
                    .or_else(|| props.get("request.timeout.ms"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(30_000)
            .max(1);
        Ok(Connect {
            bootstrap,
            timeout: Duration::from_millis(ms),
        })
    }

    pub fn cluster(&self) -> Result<Cluster, ToolError> {
        Ok(Cluster::connect(&self.bootstrap, self.timeout)?)
    }
}

/// Kafka's internal topic names.
pub fn is_internal_topic(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// Kafka's topic include list (`--topic` of kafka-topics): a regular expression that must
/// match the whole name; commas separate alternatives, spaces and surrounding quotes are
/// dropped.
pub fn topic_pattern(spec: &str) -> Result<regex::Regex, ToolError> {
    let cleaned = spec.trim().replace(',', "|").replace(' ', "");
    let cleaned = cleaned
        .trim_start_matches(['"', '\''])
        .trim_end_matches(['"', '\'']);
    regex::Regex::new(&format!("^(?:{cleaned})$"))
        .map_err(|e| ToolError::Invalid(format!("invalid topic pattern '{spec}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_match_whole_names() {
        let p = topic_pattern("orders").unwrap();
        assert!(p.is_match("orders"));
        assert!(!p.is_match("orders2"));
        assert!(!p.is_match("my-orders"));
        let p = topic_pattern("test.*").unwrap();
        assert!(p.is_match("test-1") && p.is_match("test"));
        assert!(!p.is_match("atest"));
        let p = topic_pattern("'a, b'").unwrap();
        assert!(p.is_match("a") && p.is_match("b") && !p.is_match("c"));
        assert!(topic_pattern("(").is_err());
    }

    #[test]
    fn scripts_quote_the_binary() {
        assert_eq!(shell_quote("/usr/bin/rill"), "'/usr/bin/rill'");
        assert_eq!(shell_quote("/o'k/rill"), "'/o'\\''k/rill'");
    }

    #[test]
    fn install_writes_executable_wrappers() {
        let dir = tempfile::tempdir().unwrap();
        let paths = install(dir.path(), Path::new("/opt/my rill/rill")).unwrap();
        assert_eq!(paths.len(), TOOLS.len());
        let topics = std::fs::read_to_string(dir.path().join("bin/kafka-topics.sh")).unwrap();
        assert!(topics.starts_with("#!/bin/sh\n"));
        assert!(topics.contains("exec '/opt/my rill/rill' kafka-tool kafka-topics \"$@\"\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&paths[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn connection_settings() {
        let mut props = BTreeMap::new();
        props.insert("bootstrap.servers".to_string(), "h:1".to_string());
        props.insert("request.timeout.ms".to_string(), "5000".to_string());
        let c = Connect::new(None, &props, None).unwrap();
        assert_eq!(c.bootstrap, "h:1");
        assert_eq!(c.timeout, Duration::from_millis(5000));
        let c = Connect::new(Some("x:2"), &props, Some(100)).unwrap();
        assert_eq!(c.bootstrap, "x:2");
        assert_eq!(c.timeout, Duration::from_millis(100));
        assert!(Connect::new(None, &BTreeMap::new(), None).is_err());
        props.insert("security.protocol".to_string(), "SASL_SSL".to_string());
        assert!(Connect::new(None, &props, None).is_err());
    }
}
