//! `dig` (bind9-dnsutils) run against a DNS listener, its output parsed: the DNS tests read
//! answers the way an operator would.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// What dig printed for one question.
#[derive(Debug, Default)]
pub struct Dig {
    pub status: String,
    pub flags: BTreeSet<String>,
    pub edns: Option<String>,
    pub answer: Vec<String>,
    pub authority: Vec<String>,
    pub additional: Vec<String>,
}

impl Dig {
    /// The answer's data fields (after name, TTL, class, type), e.g. the addresses of A
    /// records.
    pub fn data(&self) -> Vec<String> {
        self.answer
            .iter()
            .map(|r| r.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn sorted_data(&self) -> Vec<String> {
        let mut d = self.data();
        d.sort();
        d
    }

    pub fn types(&self) -> Vec<String> {
        self.answer
            .iter()
            .map(|r| r.split_whitespace().nth(3).unwrap_or_default().to_string())
            .collect()
    }

    pub fn soa_authority(&self) -> bool {
        self.authority.len() == 1
            && self.authority[0]
                .contains(" IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ")
    }
}

/// `dig @IP -p PORT <args>`, parsed; panics when dig is missing or nothing answered.
pub fn query(ip: IpAddr, port: u16, args: &[&str]) -> Dig {
    let out = Command::new("dig")
        .arg(format!("@{ip}"))
        .args(["-p", &port.to_string(), "+time=3", "+tries=1"])
        .args([
            "+noall",
            "+comments",
            "+answer",
            "+authority",
            "+additional",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dig: these tests need bind9-dnsutils (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let d = parse(&text);
    assert!(
        !d.status.is_empty(),
        "dig {args:?} got no answer: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

/// dig's `+noall +comments +answer +authority +additional` output.
pub fn parse(text: &str) -> Dig {
    let mut d = Dig::default();
    let mut section = 0;
    for line in text.lines() {
        if let Some(rest) = line.split("status: ").nth(1) {
            d.status = rest.split(',').next().unwrap_or_default().to_string();
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap_or_default();
            d.flags = flags.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = line.strip_prefix("; EDNS: ") {
            d.edns = Some(rest.to_string());
        } else if line.starts_with(";; ANSWER SECTION") {
            section = 1;
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = 2;
        } else if line.starts_with(";; ADDITIONAL SECTION") {
            section = 3;
        } else if line.trim().is_empty() || (line.starts_with(";; ") && line.ends_with("SECTION:"))
        {
            section = 0;
        } else if !line.starts_with(';') {
            let record = line.split_whitespace().collect::<Vec<_>>().join(" ");
            match section {
                1 => d.answer.push(record),
                2 => d.authority.push(record),
                3 => d.additional.push(record),
                _ => {}
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_sections_flags_and_status() {
        let text = ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7\n\
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n\
\n\
;; OPT PSEUDOSECTION:\n\
; EDNS: version: 0, flags:; udp: 1232\n\
;; ANSWER SECTION:\n\
web.default.svc.cluster.local. 5\tIN\tA\t10.96.0.20\n\
\n\
;; ADDITIONAL SECTION:\n\
x.cluster.local. 5 IN A 10.1.0.1\n";
        let d = super::parse(text);
        assert_eq!(d.status, "NOERROR");
        assert_eq!(
            d.flags.iter().map(String::as_str).collect::<Vec<_>>(),
            ["aa", "qr", "rd"]
        );
        assert_eq!(d.edns.as_deref(), Some("version: 0, flags:; udp: 1232"));
        assert_eq!(
            d.answer,
            ["web.default.svc.cluster.local. 5 IN A 10.96.0.20"]
        );
        assert_eq!(d.data(), ["10.96.0.20"]);
        assert_eq!(d.types(), ["A"]);
        assert_eq!(d.additional, ["x.cluster.local. 5 IN A 10.1.0.1"]);
        assert!(d.authority.is_empty());
    }
}
