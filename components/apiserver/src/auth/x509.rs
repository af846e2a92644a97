//! Client-certificate identity: the subject's CommonName is the user, its Organizations the
//! groups (kube's x509 authenticator). The chain was already verified against the cluster CA by
//! rustls during the handshake; this only reads the subject out of the leaf's DER.

use warren_apimachinery::rbac::UserInfo;

/// The identity of a TLS client that presented a verified certificate, carried to the request
/// as an extension.
#[derive(Debug, Clone)]
pub struct ClientCertUser(pub UserInfo);

/// One DER TLV: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_O: &[u8] = &[0x55, 0x04, 0x0a];

/// (CommonName, Organizations) of a DER certificate's subject.
pub fn subject(der: &[u8]) -> Option<(String, Vec<String>)> {
    let (tag, cert, _) = tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // [0] EXPLICIT version
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature, issuer, validity
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (tag, mut name, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut cn = String::new();
    let mut orgs = Vec::new();
    while !name.is_empty() {
        let (tag, mut rdn, next) = tlv(name)?;
        name = next;
        if tag != SET {
            return None;
        }
        while !rdn.is_empty() {
            let (tag, atv, next) = tlv(rdn)?;
            rdn = next;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, value) = tlv(atv)?;
            if tag != OID {
                return None;
            }
            let (_, text, _) = tlv(value)?;
            let text = String::from_utf8_lossy(text).into_owned();
            if oid == OID_CN {
                cn = text;
            } else if oid == OID_O {
                orgs.push(text);
            }
        }
    }
    Some((cn, orgs))
}

/// The user of a verified client chain (leaf first); `None` without a certificate or a CN.
pub fn user_of(chain: Option<&[rustls::pki_types::CertificateDer<'_>]>) -> Option<ClientCertUser> {
    let leaf = chain?.first()?;
    let (cn, orgs) = subject(leaf.as_ref())?;
    if cn.is_empty() {
        return None;
    }
    let mut user = UserInfo {
        name: cn,
        groups: orgs,
        ..UserInfo::default()
    };
    user = user.with_authenticated_group();
    Some(ClientCertUser(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    #[test]
    fn reads_cn_and_organizations() {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "jane");
        dn.push(DnType::OrganizationName, "dev");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).expect("cert");
        let (cn, orgs) = subject(cert.der()).expect("subject");
        assert_eq!(cn, "jane");
        assert_eq!(orgs, ["dev"]);
        let chain = vec![cert.der().clone()];
        let user = user_of(Some(&chain)).expect("user").0;
        assert_eq!(user.name, "jane");
        assert_eq!(user.groups, ["dev", "system:authenticated"]);
        assert!(subject(b"\x30\x03\x02\x01").is_none());
        assert!(subject(&[]).is_none());
        assert!(user_of(None).is_none());
    }
}
