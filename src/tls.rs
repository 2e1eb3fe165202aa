//! TLS for SSL and SASL_SSL listeners (rustls): the server's certificate and key from
//! PEM files, optionally a CA whose client certificates are required (or requested), and
//! the principal a client certificate stands for.
//!
//! - `--tls-cert FILE`: the certificate chain (PEM, leaf first);
//! - `--tls-key FILE`: its private key (PEM: PKCS#8, PKCS#1 or SEC1);
//! - `--tls-client-ca FILE`: CA certificates (PEM) for client certificates; with it,
//!   `--tls-client-auth` (Kafka's `ssl.client.auth`) defaults to `required`.
//!
//! TLS 1.2 and 1.3, as Kafka's default `ssl.enabled.protocols`. The principal of an SSL
//! connection with a client certificate is `User:` and the certificate's subject in RFC
//! 2253 form (`CN=alice,OU=dev,O=Example`), as Kafka's default principal builder and
//! `ssl.principal.mapping.rules=DEFAULT` give it; without one it is `User:ANONYMOUS`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use thiserror::Error;

/// Kafka's `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientAuth {
    /// Client certificates are not asked for.
    None,
    /// Asked for; a client without one is still served (as `User:ANONYMOUS`).
    Requested,
    /// A client without a certificate signed by the client CA is refused.
    Required,
}

/// What `rill serve` was given for TLS.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
    pub client_auth: ClientAuth,
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {reason}")]
    Read {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{what} {path} holds no {expected}")]
    Empty {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("--tls-client-auth {0:?} needs --tls-client-ca")]
    NoClientCa(ClientAuth),
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// A built server configuration, shared by every TLS connection.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the files and builds the configuration; any problem is one clear error.
    pub fn load(settings: &TlsSettings) -> Result<Tls, TlsError> {
        let chain = read_certs("--tls-cert", &settings.cert)?;
        let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::Empty {
                what: "--tls-key",
                path: settings.key.clone(),
                expected: "private key (PKCS#8, PKCS#1 or SEC1 PEM)",
            },
            e => TlsError::Read {
                what: "--tls-key",
                path: settings.key.clone(),
                reason: e.to_string(),
            },
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match (&settings.client_ca, settings.client_auth) {
            (_, ClientAuth::None) => builder.with_no_client_auth(),
            (None, auth) => return Err(TlsError::NoClientCa(auth)),
            (Some(ca), auth) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs("--tls-client-ca", ca)? {
                    roots.add(cert).map_err(|e| TlsError::Read {
                        what: "--tls-client-ca",
                        path: ca.clone(),
                        reason: e.to_string(),
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if auth == ClientAuth::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Rustls(format!("--tls-cert and --tls-key: {e}")))?;
        Ok(Tls {
            config: Arc::new(config),
        })
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Read {
            what,
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_path_buf(),
            expected: "certificate (PEM)",
        });
    }
    Ok(certs)
}

/// The principal name a verified client certificate stands for: its subject in RFC 2253
/// form, as Java's `X500Principal.getName()` writes it (most specific first, `,` between
/// attributes, `+` inside a multi-valued one). `None` if the certificate cannot be read.
pub fn certificate_subject(der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let name = &cert.tbs_certificate.subject;
    let rdns: Vec<String> = name
        .0
        .iter()
        .rev()
        .map(|rdn| {
            rdn.0
                .iter()
                .map(|atv| attribute(&atv.oid, &atv.value))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.join(","))
}

/// `TYPE=value` with the keywords Java's RFC 2253 output uses; other types as a dotted
/// OID with the value's DER in hex (`1.2.3.4=#0c03616263`).
fn attribute(oid: &x509_cert::der::asn1::ObjectIdentifier, value: &x509_cert::der::Any) -> String {
    use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
    use x509_cert::der::{Encode, Tag, Tagged};
    let keyword = match oid.to_string().as_str() {
        "2.5.4.3" => Some("CN"),
        "2.5.4.6" => Some("C"),
        "2.5.4.7" => Some("L"),
        "2.5.4.8" => Some("ST"),
        "2.5.4.9" => Some("STREET"),
        "2.5.4.10" => Some("O"),
        "2.5.4.11" => Some("OU"),
        "0.9.2342.19200300.100.1.25" => Some("DC"),
        "0.9.2342.19200300.100.1.1" => Some("UID"),
        _ => None,
    };
    let text = match value.tag() {
        Tag::Utf8String => value
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        Tag::Ia5String => value
            .decode_as::<Ia5StringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        Tag::TeletexString => value
            .decode_as::<TeletexStringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        _ => None,
    };
    match (keyword, text) {
        (Some(k), Some(t)) => format!("{k}={}", escape(&t)),
        (k, _) => {
            let hex: String = value
                .to_der()
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "{}=#{hex}",
                k.map_or_else(|| oid.to_string(), str::to_string)
            )
        }
    }
}

/// RFC 2253 §2.4 escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    fn cert_with(dn: &[(DnType, &str)]) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["localhost".into()]).expect("params");
        let mut name = DistinguishedName::new();
        for (t, v) in dn {
            name.push(t.clone(), *v);
        }
        params.distinguished_name = name;
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn subjects_read_as_java_writes_them() {
        let der = cert_with(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Example, Inc"),
            (DnType::OrganizationalUnitName, "dev"),
            (DnType::CommonName, "alice"),
        ]);
        assert_eq!(
            certificate_subject(&der).as_deref(),
            Some("CN=alice,OU=dev,O=Example\\, Inc,C=US")
        );
        let der = cert_with(&[(DnType::CommonName, " padded ")]);
        assert_eq!(
            certificate_subject(&der).as_deref(),
            Some("CN=\\ padded\\ ")
        );
        assert_eq!(certificate_subject(b"not a certificate"), None);
    }

    #[test]
    fn bad_files_give_one_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").expect("write");
        let settings = TlsSettings {
            cert: empty.clone(),
            key: empty.clone(),
            client_ca: None,
            client_auth: ClientAuth::None,
        };
        let e = Tls::load(&settings).expect_err("no cert").to_string();
        assert!(
            e.contains("--tls-cert") && e.contains("no certificate"),
            "{e}"
        );
        let missing = TlsSettings {
            cert: dir.path().join("missing.pem"),
            ..settings.clone()
        };
        let e = Tls::load(&missing).expect_err("missing").to_string();
        assert!(e.contains("cannot read --tls-cert"), "{e}");

        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["localhost".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(&key_path, key.serialize_pem()).expect("write");
        let good = TlsSettings {
            cert: cert_path.clone(),
            key: key_path.clone(),
            client_ca: None,
            client_auth: ClientAuth::None,
        };
        Tls::load(&good).expect("loads");
        let e = Tls::load(&TlsSettings {
            key: empty,
            ..good.clone()
        })
        .expect_err("no key")
        .to_string();
        assert!(e.contains("no private key"), "{e}");
        let e = Tls::load(&TlsSettings {
            client_auth: ClientAuth::Required,
            ..good.clone()
        })
        .expect_err("no ca")
        .to_string();
        assert!(e.contains("--tls-client-ca"), "{e}");
        // A key that is not the certificate's.
        let other = dir.path().join("other.pem");
        std::fs::write(&other, KeyPair::generate().expect("key").serialize_pem()).expect("write");
        let e = Tls::load(&TlsSettings { key: other, ..good })
            .expect_err("mismatch")
            .to_string();
        assert!(e.contains("--tls-cert and --tls-key"), "{e}");
    }
}
