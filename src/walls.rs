//! A test that keeps the layers apart (see ARCHITECTURE.md, "The walls"): the storage
//! layers know nothing of the wire or the server, and the coordinators' state machines
//! do no I/O and read no clock (time is passed in).

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// Every `.rs` file under `dir` (relative to the crate root) with its text.
    fn sources(dir: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = fs::read_to_string(&p).expect("readable source");
                    out.push((p.display().to_string(), text));
                }
            }
        }
        out
    }

    fn assert_none(dir: &str, except: &[&str], forbidden: &[&str]) {
        let files = sources(dir);
        assert!(!files.is_empty(), "no sources under {dir}");
        for (path, text) in files {
            if except.iter().any(|e| path.ends_with(e)) {
                continue;
            }
            for f in forbidden {
                assert!(!text.contains(f), "{path} uses {f}");
            }
        }
    }

    #[test]
    fn storage_layers_know_nothing_of_the_wire_or_the_server() {
        let forbidden = [
            "kafka_protocol",
            "crate::server",
            "crate::handlers",
            "crate::broker",
            "crate::group",
        ];
        assert_none("src/log", &[], &forbidden);
        assert_none("src/meta", &[], &forbidden);
    }

    #[test]
    fn coordinators_are_pure_state_machines() {
        let forbidden = [
            "kafka_protocol",
            "tokio",
            "std::net",
            "SystemTime",
            "Instant::now",
            "crate::server",
            "crate::handlers",
        ];
        // service.rs is each coordinator's async face (locks, timers, waiters, I/O).
        assert_none("src/group", &["service.rs"], &forbidden);
        assert_none("src/txn", &["service.rs"], &forbidden);
    }

    #[test]
    fn authentication_is_pure() {
        // Mechanisms and credentials: no wire types, sockets or runtime; the connection
        // side is server/sasl.rs, the credential store broker/users.rs.
        let forbidden = [
            "kafka_protocol",
            "tokio",
            "std::net",
            "crate::server",
            "crate::handlers",
            "crate::broker",
        ];
        assert_none("src/auth", &[], &forbidden);
    }

    #[test]
    fn acls_are_pure() {
        // Bindings, filters and the authorizer's rules: no wire types or runtime; the
        // store is broker/acls.rs, the requests handlers/acls.rs.
        let forbidden = [
            "kafka_protocol",
            "tokio",
            "crate::server",
            "crate::handlers",
            "crate::broker",
        ];
        assert_none("src/acl", &[], &forbidden);
    }

    #[test]
    fn quota_rules_are_pure() {
        // Entities, precedence and rates: no wire types or runtime; the store is
        // broker/quotas.rs, the requests and throttles handlers/quotas.rs.
        let forbidden = [
            "kafka_protocol",
            "tokio",
            "crate::server",
            "crate::handlers",
            "crate::broker",
        ];
        assert_none("src/quota", &[], &forbidden);
    }

    #[test]
    fn the_broker_does_not_use_the_client_side() {
        // client/, admin/ and bench/ share the binary, not the broker's code paths.
        let forbidden = ["crate::client", "crate::admin", "crate::bench"];
        for dir in [
            "src/acl",
            "src/quota",
            "src/server",
            "src/http",
            "src/handlers",
            "src/broker",
            "src/log",
            "src/meta",
            "src/group",
            "src/txn",
            "src/config",
        ] {
            assert_none(dir, &[], &forbidden);
        }
    }
}
