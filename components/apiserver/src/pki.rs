//! The cluster's certificate authority, serving certificate and admin token, created on first
//! start in the data directory and reused afterwards (like k3s's `server/tls`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use rand::Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: no usable PEM data")]
    BadPem { path: PathBuf },
}

/// Everything the server needs to serve TLS and authenticate its admin.
#[derive(Clone)]
pub struct ClusterPki {
    pub ca_cert_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub admin_token: String,
}

const CA_CN: &str = "warren-ca";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file readable only by its owner, atomically (write + rename), so a crash never leaves
/// a half-written key behind.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io_err(&tmp))?;
        f.write_all(contents).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))
}

fn read_opt(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_CN);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
    params
}

/// The SAN list of the serving certificate: loopback, localhost, `kubernetes.default.svc…`,
/// the listen host and every extra name.
pub fn serving_sans(listen_host: &str, extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = vec![
        "127.0.0.1".into(),
        "localhost".into(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        "kubernetes.default.svc.cluster.local".into(),
    ];
    let host = listen_host.trim_start_matches('[').trim_end_matches(']');
    for name in std::iter::once(host.to_string()).chain(extra.iter().cloned()) {
        if !name.is_empty() && name != "0.0.0.0" && name != "::" && !sans.contains(&name) {
            sans.push(name);
        }
    }
    sans
}

impl ClusterPki {
    /// Loads the PKI from `dir`, creating what is missing. The serving certificate is re-issued
    /// when the wanted SANs are not all in the recorded list (a new `--tls-san`).
    pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<ClusterPki, PkiError> {
        let tls = dir.join("tls");
        fs::create_dir_all(&tls).map_err(io_err(&tls))?;
        let ca_key_path = tls.join("ca.key");
        let ca_cert_path = tls.join("ca.crt");
        let (ca_key, ca_cert_pem) = match (read_opt(&ca_key_path)?, read_opt(&ca_cert_path)?) {
            (Some(k), Some(c)) => (
                KeyPair::from_pem(&k).map_err(|_| PkiError::BadPem {
                    path: ca_key_path.clone(),
                })?,
                c,
            ),
            _ => {
                let key = KeyPair::generate()?;
                let cert = ca_params().self_signed(&key)?;
                write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
                write_private(&ca_cert_path, cert.pem().as_bytes())?;
                (key, cert.pem())
            }
        };

        let serving_cert_path = tls.join("serving.crt");
        let serving_key_path = tls.join("serving.key");
        let sans_path = tls.join("serving.sans");
        let recorded: Vec<String> = read_opt(&sans_path)?
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default();
        let (serving_cert_pem, serving_key_pem) =
            match (read_opt(&serving_cert_path)?, read_opt(&serving_key_path)?) {
                (Some(c), Some(k)) if sans.iter().all(|s| recorded.contains(s)) => (c, k),
                _ => {
                    let mut all = recorded.clone();
                    for s in sans {
                        if !all.contains(s) {
                            all.push(s.clone());
                        }
                    }
                    let key = KeyPair::generate()?;
                    let mut params = CertificateParams::new(all.clone())?;
                    let mut dn = DistinguishedName::new();
                    dn.push(DnType::CommonName, "kube-apiserver");
                    params.distinguished_name = dn;
                    params.key_usages = vec![
                        KeyUsagePurpose::DigitalSignature,
                        KeyUsagePurpose::KeyEncipherment,
                    ];
                    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                    let year = chrono::Utc::now().year();
                    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
                    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
                    let issuer = Issuer::new(ca_params(), &ca_key);
                    let cert = params.signed_by(&key, &issuer)?;
                    write_private(&serving_key_path, key.serialize_pem().as_bytes())?;
                    write_private(&serving_cert_path, cert.pem().as_bytes())?;
                    write_private(&sans_path, all.join("\n").as_bytes())?;
                    (cert.pem(), key.serialize_pem())
                }
            };

        let token_path = dir.join("token");
        let admin_token = match read_opt(&token_path)? {
            Some(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => {
                let bytes: [u8; 24] = rand::rng().random();
                let t: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&token_path, t.as_bytes())?;
                t
            }
        };
        Ok(ClusterPki {
            ca_cert_pem,
            serving_cert_pem,
            serving_key_pem,
            admin_token,
        })
    }

    /// A kubeconfig for the admin user against `server` (https://host:port).
    pub fn admin_kubeconfig(&self, server: &str, cluster_name: &str) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_cert_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster_name}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {cluster_name}-admin\n  user:\n    token: {token}\ncontexts:\n- name: {cluster_name}\n  context:\n    cluster: {cluster_name}\n    user: {cluster_name}-admin\ncurrent-context: {cluster_name}\npreferences: {{}}\n",
            token = self.admin_token
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_and_reissued_for_new_sans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sans = serving_sans("127.0.0.1", &[]);
        let a = ClusterPki::load_or_create(dir.path(), &sans).expect("create");
        let b = ClusterPki::load_or_create(dir.path(), &sans).expect("reuse");
        assert_eq!(a.ca_cert_pem, b.ca_cert_pem);
        assert_eq!(a.serving_cert_pem, b.serving_cert_pem);
        assert_eq!(a.admin_token, b.admin_token);
        let more = serving_sans("127.0.0.1", &["vc.example.test".to_string()]);
        let c = ClusterPki::load_or_create(dir.path(), &more).expect("reissue");
        assert_eq!(a.ca_cert_pem, c.ca_cert_pem);
        assert_ne!(a.serving_cert_pem, c.serving_cert_pem);
        let kc = c.admin_kubeconfig("https://127.0.0.1:6443", "warren");
        assert!(kc.contains(&c.admin_token));
        assert!(kc.contains("certificate-authority-data: "));
    }

    #[test]
    fn sans_skip_wildcards_and_duplicates() {
        let s = serving_sans("0.0.0.0", &["localhost".into(), "a.b".into()]);
        assert!(!s.contains(&"0.0.0.0".to_string()));
        assert_eq!(s.iter().filter(|x| *x == "localhost").count(), 1);
        assert!(s.contains(&"a.b".to_string()));
    }
}
