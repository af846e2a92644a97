//! The cluster's DNS view: names under the cluster domain answered from Services,
//! EndpointSlices/Endpoints, Pods and Namespaces, the way CoreDNS's kubernetes plugin answers
//! them (rcodes, SOA in the authority section, SRV weights and targets, endpoint names).
//!
//! Pure: [`Snapshot::build`] indexes a [`ClusterState`]; [`Snapshot::answer`] turns a question
//! into records. No I/O: an ExternalName pointing outside the cluster is returned as a
//! [`Chase`] for the caller to resolve upstream.

mod state;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};

pub use state::{
    ClusterState, EndpointAddress, EndpointSet, Key, PodInfo, PortInfo, ServiceInfo, ServiceKind,
    WatchedPod, dashed_ip,
};

/// The schema version `dns-version.<domain>` TXT answers (the Kubernetes DNS specification's).
pub const DNS_SCHEMA_VERSION: &str = "1.1.0";
/// TTL of the `dns-version` TXT record, as CoreDNS serves it.
const DNS_VERSION_TTL: u32 = 28800;
/// CNAME chains longer than this are cut (loops between ExternalNames).
const MAX_CNAME_CHAIN: usize = 10;

/// How `a-b-c-d.<ns>.pod.<domain>` names answer (CoreDNS's `pods` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PodMode {
    /// NXDOMAIN for every pod name.
    Disabled,
    /// The address in the name, without checking that such a pod exists (kube-dns'
    /// behaviour; what kubeadm's and vCluster's Corefiles configure).
    #[default]
    Insecure,
    /// Only when a running pod in that namespace has that IP.
    Verified,
}

impl std::str::FromStr for PodMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "disabled" => Ok(PodMode::Disabled),
            "insecure" => Ok(PodMode::Insecure),
            "verified" => Ok(PodMode::Verified),
            _ => Err(format!(
                "unknown pod mode {s:?} (disabled, insecure, verified)"
            )),
        }
    }
}

/// The zone's settings.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    /// The cluster domain, e.g. `cluster.local`.
    pub domain: Name,
    /// TTL of every record (CoreDNS clamps it to 0..=3600).
    pub ttl: u32,
    pub pods: PodMode,
    /// The addresses this server answers on: Services whose endpoints hold one of them are the
    /// zone's name servers (`kube-system/kube-dns`), as CoreDNS finds its own Service.
    pub local_ips: Vec<IpAddr>,
    /// The port this server answers on; endpoints at one of `local_ips` count as ours only
    /// with this port (several servers share loopback in standalone mode).
    pub local_port: Option<u16>,
}

impl ZoneConfig {
    pub fn new(domain: &str, ttl: u32) -> Result<ZoneConfig, String> {
        let mut name =
            Name::from_ascii(domain).map_err(|e| format!("cluster domain {domain:?}: {e}"))?;
        name.set_fqdn(true);
        Ok(ZoneConfig {
            domain: name.to_lowercase(),
            ttl: ttl.min(3600),
            pods: PodMode::default(),
            local_ips: Vec::new(),
            local_port: None,
        })
    }
}

/// What to do with a question.
// Lives for one query and is moved once; boxing would only add an allocation per query.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// Answered from the cluster.
    Answer(Answer),
    /// Not the cluster's: ask the upstream resolvers.
    Forward,
}

/// A response's content.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub additionals: Vec<Record>,
    pub authority: Vec<Record>,
    /// The answers end in a CNAME to a name outside the cluster: append the upstream's
    /// answers for it; if the upstream cannot be asked, answer NODATA instead (CoreDNS drops
    /// the CNAME then).
    pub chase: Option<Chase>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chase {
    pub target: Name,
    pub qtype: RecordType,
    /// The SOA to answer NODATA with when the chase fails.
    pub soa: Record,
}

/// The name is not in the cluster (NXDOMAIN, or the next resolver for reverse names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NameError;

/// What a name resolves to before it becomes records (CoreDNS's msg.Service).
#[derive(Debug, Clone)]
struct Entry<'a> {
    host: Host<'a>,
    port: Option<u16>,
    /// The name SRV/NS records point at for this entry.
    target: Target<'a>,
    ttl: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum Host<'a> {
    Ip(IpAddr),
    Name(&'a str),
    Text(&'static str),
}

#[derive(Debug, Clone)]
enum Target<'a> {
    /// `<service>.<ns>.svc.<domain>`
    Service {
        ns: &'a str,
        name: &'a str,
    },
    /// `<label>.<service>.<ns>.svc.<domain>`
    Endpoint {
        label: &'a str,
        ns: &'a str,
        name: &'a str,
    },
    /// `<dashed IP>.<ns>.pod.<domain>`
    Pod {
        ns: &'a str,
    },
    /// `ns.dns.<domain>`
    NameServer,
    None,
}

/// A parsed name under the cluster domain (CoreDNS's recordRequest).
#[derive(Debug, Default, Clone, Copy)]
struct Request<'a> {
    kind: Option<Kind>,
    namespace: &'a str,
    service: &'a str,
    endpoint: &'a str,
    port: &'a str,
    protocol: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Svc,
    Pod,
}

#[derive(Debug)]
struct ServiceEntry {
    info: Arc<ServiceInfo>,
    endpoints: Vec<Arc<EndpointSet>>,
}

/// An immutable, indexed view of the cluster; cheap to share between query tasks.
#[derive(Debug)]
pub struct Snapshot {
    zone: Name,
    zone_text: String,
    zone_labels: usize,
    ttl: u32,
    pods: PodMode,
    serial: u32,
    synced: bool,
    namespaces: HashSet<String>,
    services: HashMap<String, HashMap<String, ServiceEntry>>,
    /// ClusterIP → (namespace, service); the lowest key wins when two claim one IP.
    by_cluster_ip: HashMap<IpAddr, (String, String)>,
    /// Endpoint IP → (label, namespace, service), for PTR.
    endpoints_by_ip: HashMap<IpAddr, Vec<(String, String, String)>>,
    /// Active pod IP → namespaces of the pods that have it.
    pods_by_ip: HashMap<IpAddr, Vec<String>>,
    /// (NS target, address) of the zone's name servers.
    name_servers: Vec<(Name, IpAddr)>,
}

impl Snapshot {
    /// Indexes `state`. `synced` is false until every watch has listed once: until then
    /// NXDOMAIN answers are SERVFAIL, as CoreDNS answers before its caches sync.
    pub fn build(state: &ClusterState, config: &ZoneConfig, synced: bool) -> Snapshot {
        let mut slice_sets: HashMap<(&str, &str), Vec<Arc<EndpointSet>>> = HashMap::new();
        let mut endpoints_by_ip: HashMap<IpAddr, Vec<(String, String, String)>> = HashMap::new();
        for ((ns, _), set) in &state.slices {
            slice_sets
                .entry((ns.as_str(), set.service.as_str()))
                .or_default()
                .push(set.clone());
        }
        let mut services: HashMap<String, HashMap<String, ServiceEntry>> = HashMap::new();
        let mut by_cluster_ip = HashMap::new();
        for ((ns, name), info) in &state.services {
            if let ServiceKind::ClusterIp(ips) = &info.kind {
                for ip in ips {
                    by_cluster_ip
                        .entry(*ip)
                        .or_insert_with(|| (ns.clone(), name.clone()));
                }
            }
            // Slices when any names the Service, else the Endpoints object.
            let endpoints = match slice_sets.remove(&(ns.as_str(), name.as_str())) {
                Some(sets) => sets,
                None => state
                    .endpoints
                    .get(&(ns.clone(), name.clone()))
                    .cloned()
                    .unwrap_or_default(),
            };
            services.entry(ns.clone()).or_default().insert(
                name.clone(),
                ServiceEntry {
                    info: info.clone(),
                    endpoints,
                },
            );
        }
        // PTR covers every endpoint, with or without a Service, as CoreDNS's endpoint index.
        let mut add_reverse = |ns: &str, set: &EndpointSet| {
            for a in &set.addresses {
                endpoints_by_ip.entry(a.ip).or_default().push((
                    a.label.clone(),
                    ns.to_string(),
                    set.service.clone(),
                ));
            }
        };
        let mut sliced: HashSet<(&str, &str)> = HashSet::new();
        for ((ns, _), set) in &state.slices {
            sliced.insert((ns.as_str(), set.service.as_str()));
            add_reverse(ns, set);
        }
        for ((ns, name), sets) in &state.endpoints {
            if sliced.contains(&(ns.as_str(), name.as_str())) {
                continue;
            }
            for set in sets {
                add_reverse(ns, set);
            }
        }
        let mut pods_by_ip: HashMap<IpAddr, Vec<String>> = HashMap::new();
        for ((ns, _), pod) in &state.pods {
            if let (true, Some(ip)) = (pod.active, pod.ip) {
                pods_by_ip.entry(ip).or_default().push(ns.clone());
            }
        }
        let zone_text = config.domain.to_ascii();
        let mut snapshot = Snapshot {
            zone: config.domain.clone(),
            zone_labels: config.domain.num_labels() as usize,
            zone_text,
            ttl: config.ttl,
            pods: config.pods,
            serial: state.modified,
            synced,
            namespaces: state.namespaces.iter().cloned().collect(),
            services,
            by_cluster_ip,
            endpoints_by_ip,
            pods_by_ip,
            name_servers: Vec::new(),
        };
        snapshot.name_servers = snapshot.find_name_servers(&config.local_ips, config.local_port);
        snapshot
    }

    /// An empty, unsynced view (before the first list).
    pub fn empty(config: &ZoneConfig) -> Snapshot {
        Snapshot::build(&ClusterState::default(), config, false)
    }

    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// Answers `qname`/`qtype`, or says it is the upstream's.
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> Resolution {
        self.answer_lowered(qname, &qname.to_lowercase(), qtype)
    }

    /// [`Snapshot::answer`] when the lowercase name is at hand already (hickory's queries
    /// carry both).
    pub fn answer_lowered(&self, qname: &Name, lower: &Name, qtype: RecordType) -> Resolution {
        if self.zone.zone_of(lower) {
            return Resolution::Answer(self.answer_in_zone(qname, lower, qtype));
        }
        // Reverse names: PTR for cluster addresses; the rest falls through to the upstream
        // (the `fallthrough in-addr.arpa ip6.arpa` of the standard Corefile).
        if qtype == RecordType::PTR
            && let Some(ip) = reverse_address(lower)
        {
            let records = self.reverse(qname, ip);
            if !records.is_empty() {
                return Resolution::Answer(Answer {
                    rcode: ResponseCode::NoError,
                    authoritative: true,
                    answers: records,
                    additionals: Vec::new(),
                    authority: Vec::new(),
                    chase: None,
                });
            }
        }
        Resolution::Forward
    }

    fn answer_in_zone(&self, qname: &Name, lower: &Name, qtype: RecordType) -> Answer {
        let Some(rel) = self.relative_labels(lower) else {
            return self.negative(Err(NameError), self.soa(qname));
        };
        let apex = rel.is_empty();
        let mut answers = Vec::new();
        let mut additionals = Vec::new();
        let mut chase = None;
        let outcome: Result<(), NameError> = match qtype {
            RecordType::A | RecordType::AAAA => self
                .address(qname, &rel, qtype, &mut Vec::new())
                .map(|(records, target)| {
                    answers = records;
                    chase = target.map(|target| Chase {
                        target,
                        qtype,
                        soa: self.soa(qname),
                    });
                }),
            RecordType::TXT => self.txt(qname, &rel).map(|r| answers = r),
            RecordType::CNAME => self.cname(qname, &rel).map(|r| answers = r),
            RecordType::SRV => self.srv(qname, &rel).map(|(a, x)| {
                answers = a;
                additionals = x;
            }),
            RecordType::SOA => {
                if apex {
                    answers.push(self.soa(qname));
                }
                Ok(())
            }
            RecordType::AXFR | RecordType::IXFR => {
                return Answer {
                    rcode: ResponseCode::Refused,
                    authoritative: false,
                    answers: Vec::new(),
                    additionals: Vec::new(),
                    authority: Vec::new(),
                    chase: None,
                };
            }
            RecordType::NS if apex => {
                let (ns, extra) = self.ns(qname);
                answers = ns;
                additionals = extra;
                Ok(())
            }
            // PTR and MX of forward names exist nowhere in the cluster; everything else is
            // NODATA or NXDOMAIN by whether the name exists (CoreDNS's "fake A lookup").
            RecordType::PTR | RecordType::MX => self.services(&rel, qtype).map(|_| ()),
            _ => self.services(&rel, RecordType::A).map(|_| ()),
        };
        if outcome.is_err() || (answers.is_empty() && chase.is_none()) {
            return self.negative(outcome, self.soa(qname));
        }
        Answer {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers,
            additionals,
            authority: Vec::new(),
            chase,
        }
    }

    /// NXDOMAIN (SERVFAIL before the first sync) or NODATA, with the SOA.
    fn negative(&self, outcome: Result<(), NameError>, soa: Record) -> Answer {
        let rcode = match outcome {
            Ok(()) => ResponseCode::NoError,
            Err(NameError) if self.synced => ResponseCode::NXDomain,
            Err(NameError) => ResponseCode::ServFail,
        };
        Answer {
            rcode,
            authoritative: true,
            answers: Vec::new(),
            additionals: Vec::new(),
            authority: vec![soa],
            chase: None,
        }
    }

    /// The labels left of the cluster domain, lowercase; None when one is not UTF-8.
    fn relative_labels<'n>(&self, lower: &'n Name) -> Option<Vec<&'n str>> {
        let n = (lower.num_labels() as usize).saturating_sub(self.zone_labels);
        lower
            .iter()
            .take(n)
            .map(|l| std::str::from_utf8(l).ok())
            .collect()
    }

    fn name(&self, prefix: &str) -> Name {
        // Built from validated labels; a failure (overlong name) yields the zone itself.
        Name::from_ascii(format!("{prefix}.{}", self.zone_text))
            .unwrap_or_else(|_| self.zone.clone())
    }

    fn target_name(&self, target: &Target<'_>) -> Option<Name> {
        Some(match target {
            Target::Service { ns, name } => self.name(&format!("{name}.{ns}.svc")),
            Target::Endpoint { label, ns, name } => self.name(&format!("{label}.{name}.{ns}.svc")),
            Target::NameServer => self.name("ns.dns"),
            Target::Pod { .. } | Target::None => return None,
        })
    }

    /// The zone's SOA, owned by the zone as the question spelled it.
    fn soa(&self, qname: &Name) -> Record {
        let zone = if qname.num_labels() as usize >= self.zone_labels {
            let mut z = qname.trim_to(self.zone_labels);
            z.set_fqdn(true);
            z
        } else {
            self.zone.clone()
        };
        let prefixed = |p: &str| {
            Name::from_ascii(p)
                .and_then(|n| n.append_domain(&zone))
                .unwrap_or_else(|_| zone.clone())
        };
        Record::from_rdata(
            zone.clone(),
            self.ttl.min(300),
            RData::SOA(SOA::new(
                prefixed("ns.dns"),
                prefixed("hostmaster"),
                self.serial,
                7200,
                1800,
                86400,
                self.ttl,
            )),
        )
    }

    /// CoreDNS's Kubernetes.Services: the entries a name stands for, for a query type.
    fn services(&self, rel: &[&str], qtype: RecordType) -> Result<Vec<Entry<'_>>, NameError> {
        match qtype {
            RecordType::TXT => {
                if rel == ["dns-version"] {
                    return Ok(vec![Entry {
                        host: Host::Text(DNS_SCHEMA_VERSION),
                        port: None,
                        target: Target::None,
                        ttl: DNS_VERSION_TTL,
                    }]);
                }
                // Any other existing name has no TXT record: NODATA; otherwise NXDOMAIN.
                return match self.records(rel) {
                    Ok(entries) if !entries.is_empty() => Ok(Vec::new()),
                    _ => Err(NameError),
                };
            }
            RecordType::NS => return Ok(self.name_server_entries(None)),
            _ => {}
        }
        if rel == ["ns", "dns"] {
            return Ok(self.name_server_entries(Some(qtype)));
        }
        let entries = self.records(rel)?;
        if qtype == RecordType::SRV {
            return Ok(entries
                .into_iter()
                .filter(|e| !matches!(e.host, Host::Name(_)))
                .collect());
        }
        Ok(entries)
    }

    fn name_server_entries(&self, qtype: Option<RecordType>) -> Vec<Entry<'_>> {
        self.name_servers
            .iter()
            .filter(|(_, ip)| match qtype {
                None => true,
                Some(RecordType::A) => ip.is_ipv4(),
                Some(RecordType::AAAA) => ip.is_ipv6(),
                Some(_) => false,
            })
            .map(|(_, ip)| Entry {
                host: Host::Ip(*ip),
                port: None,
                target: Target::NameServer,
                ttl: self.ttl,
            })
            .collect()
    }

    /// The name servers: Services whose endpoints hold one of our addresses, else
    /// `ns.dns.<domain>` at our addresses.
    fn find_name_servers(&self, local_ips: &[IpAddr], port: Option<u16>) -> Vec<(Name, IpAddr)> {
        let mut found = Vec::new();
        let mut any_endpoint = false;
        for local in local_ips {
            for (label, ns, svc) in self.endpoints_by_ip.get(local).into_iter().flatten() {
                let Some(entry) = self.services.get(ns).and_then(|s| s.get(svc)) else {
                    continue;
                };
                let ours = entry.endpoints.iter().any(|set| {
                    set.addresses.iter().any(|a| a.ip == *local)
                        && (port.is_none() || set.ports.iter().any(|p| p.port == port))
                });
                if !ours {
                    continue;
                }
                any_endpoint = true;
                match &entry.info.kind {
                    ServiceKind::Headless => {
                        found.push((self.name(&format!("{label}.{svc}.{ns}.svc")), *local))
                    }
                    ServiceKind::ClusterIp(ips) => {
                        let name = self.name(&format!("{svc}.{ns}.svc"));
                        found.extend(ips.iter().map(|ip| (name.clone(), *ip)));
                    }
                    ServiceKind::ExternalName(_) => {}
                }
            }
        }
        if !any_endpoint {
            let name = self.name("ns.dns");
            found = local_ips.iter().map(|ip| (name.clone(), *ip)).collect();
        }
        found
    }

    /// CoreDNS's Kubernetes.Records.
    fn records(&self, rel: &[&str]) -> Result<Vec<Entry<'_>>, NameError> {
        let r = parse(rel)?;
        let Some(kind) = r.kind else {
            return Ok(Vec::new());
        };
        if !self.namespaces.contains(r.namespace) {
            return Err(NameError);
        }
        match kind {
            Kind::Pod => self.find_pods(&r),
            Kind::Svc => self.find_services(&r),
        }
    }

    fn find_pods<'a>(&'a self, r: &Request<'_>) -> Result<Vec<Entry<'a>>, NameError> {
        if self.pods == PodMode::Disabled {
            return Err(NameError);
        }
        let Some(ns) = self.namespaces.get(r.namespace) else {
            return Err(NameError);
        };
        if r.service.is_empty() {
            return Ok(Vec::new());
        }
        let label = r.service;
        let text = if label.matches('-').count() == 3 && !label.contains("--") {
            label.replace('-', ".")
        } else {
            label.replace('-', ":")
        };
        let ip: IpAddr = text.parse().map_err(|_| NameError)?;
        let entry = || Entry {
            host: Host::Ip(ip),
            port: None,
            target: Target::Pod { ns },
            ttl: self.ttl,
        };
        match self.pods {
            PodMode::Insecure => Ok(vec![entry()]),
            _ => {
                let n = self
                    .pods_by_ip
                    .get(&ip)
                    .map(|nss| nss.iter().filter(|p| p.as_str() == ns.as_str()).count())
                    .unwrap_or(0);
                if n == 0 {
                    return Err(NameError);
                }
                Ok((0..n).map(|_| entry()).collect())
            }
        }
    }

    fn find_services<'a>(&'a self, r: &Request<'_>) -> Result<Vec<Entry<'a>>, NameError> {
        if r.service.is_empty() {
            return Ok(Vec::new());
        }
        let Some((ns, svcs)) = self.services.get_key_value(r.namespace) else {
            return Err(NameError);
        };
        let Some((name, svc)) = svcs.get_key_value(r.service) else {
            return Err(NameError);
        };
        let mut found = false;
        let mut out = Vec::new();
        match &svc.info.kind {
            ServiceKind::ExternalName(target) => {
                if !r.endpoint.is_empty() || !r.port.is_empty() || !r.protocol.is_empty() {
                    return Err(NameError);
                }
                // An IP as externalName is not a CNAME: CoreDNS serves nothing for it.
                if target.parse::<IpAddr>().is_ok() || target.is_empty() {
                    return Err(NameError);
                }
                out.push(Entry {
                    host: Host::Name(target),
                    port: None,
                    target: Target::Service { ns, name },
                    ttl: self.ttl,
                });
                found = true;
            }
            ServiceKind::ClusterIp(ips) if r.endpoint.is_empty() => {
                for p in &svc.info.ports {
                    if !port_matches(r, p) {
                        continue;
                    }
                    found = true;
                    for ip in ips {
                        out.push(Entry {
                            host: Host::Ip(*ip),
                            port: p.port,
                            target: Target::Service { ns, name },
                            ttl: self.ttl,
                        });
                    }
                }
            }
            // Headless, or an endpoint name under any service: the endpoints.
            ServiceKind::Headless | ServiceKind::ClusterIp(_) => {
                for set in &svc.endpoints {
                    for addr in &set.addresses {
                        if !r.endpoint.is_empty() && !r.endpoint.eq_ignore_ascii_case(&addr.label) {
                            continue;
                        }
                        for p in &set.ports {
                            if !port_matches(r, p) {
                                continue;
                            }
                            found = true;
                            out.push(Entry {
                                host: Host::Ip(addr.ip),
                                port: p.port,
                                target: Target::Endpoint {
                                    label: &addr.label,
                                    ns,
                                    name,
                                },
                                ttl: self.ttl,
                            });
                        }
                    }
                }
            }
        }
        if found { Ok(out) } else { Err(NameError) }
    }

    /// A/AAAA records for `owner`, following CNAMEs inside the zone; the second value is an
    /// outside CNAME target still to resolve.
    fn address(
        &self,
        owner: &Name,
        rel: &[&str],
        qtype: RecordType,
        chain: &mut Vec<(Name, Name)>,
    ) -> Result<(Vec<Record>, Option<Name>), NameError> {
        let entries = self.services(rel, qtype)?;
        let mut records = Vec::new();
        let mut chase = None;
        let mut seen: HashSet<IpAddr> = HashSet::new();
        for entry in entries {
            match entry.host {
                Host::Name(target) => {
                    let Ok(mut target) = Name::from_ascii(target) else {
                        continue;
                    };
                    target.set_fqdn(true);
                    let target_lower = target.to_lowercase();
                    if target_lower == owner.to_lowercase() || chain.len() > MAX_CNAME_CHAIN {
                        continue;
                    }
                    let link = (owner.to_lowercase(), target_lower.clone());
                    if chain.contains(&link) {
                        continue;
                    }
                    let cname = Record::from_rdata(
                        owner.clone(),
                        entry.ttl,
                        RData::CNAME(CNAME(target.clone())),
                    );
                    if self.zone.zone_of(&target_lower) {
                        let Some(rel2) = self.relative_labels(&target_lower) else {
                            continue;
                        };
                        chain.push(link);
                        if let Ok((next, next_chase)) = self.address(&target, &rel2, qtype, chain)
                            && !next.is_empty()
                        {
                            records.push(cname);
                            records.extend(next);
                            chase = chase.or(next_chase);
                        }
                        continue;
                    }
                    records.push(cname);
                    chase = Some(target);
                }
                Host::Ip(ip) => {
                    let wanted = match qtype {
                        RecordType::A => ip.is_ipv4(),
                        _ => ip.is_ipv6(),
                    };
                    if wanted && seen.insert(ip) {
                        records.push(address_record(owner.clone(), entry.ttl, ip));
                    }
                }
                Host::Text(_) => {}
            }
        }
        Ok((records, chase))
    }

    fn txt(&self, qname: &Name, rel: &[&str]) -> Result<Vec<Record>, NameError> {
        Ok(self
            .services(rel, RecordType::TXT)?
            .into_iter()
            .filter_map(|e| match e.host {
                Host::Text(t) => Some(Record::from_rdata(
                    qname.clone(),
                    e.ttl,
                    RData::TXT(TXT::new(vec![t.to_string()])),
                )),
                _ => None,
            })
            .collect())
    }

    fn cname(&self, qname: &Name, rel: &[&str]) -> Result<Vec<Record>, NameError> {
        let entries = self.services(rel, RecordType::CNAME)?;
        Ok(match entries.first() {
            Some(Entry {
                host: Host::Name(target),
                ttl,
                ..
            }) => match Name::from_ascii(target) {
                Ok(mut t) => {
                    t.set_fqdn(true);
                    vec![Record::from_rdata(
                        qname.clone(),
                        *ttl,
                        RData::CNAME(CNAME(t)),
                    )]
                }
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        })
    }

    /// SRV records and their address glue. Every entry weighs the same: 100 / entries, at
    /// least 1, priority 0.
    fn srv(&self, qname: &Name, rel: &[&str]) -> Result<(Vec<Record>, Vec<Record>), NameError> {
        let entries = self.services(rel, RecordType::SRV)?;
        let total = entries.len().max(1) as f64 * 100.0;
        let weight = ((100.0 / total) * 100.0).floor() as u16;
        let weight = weight.max(1);
        let mut records = Vec::new();
        let mut extra = Vec::new();
        let mut seen_srv: HashSet<(Name, u16)> = HashSet::new();
        let mut seen_addr: HashSet<(Name, IpAddr)> = HashSet::new();
        for entry in &entries {
            let Some(port) = entry.port else { continue };
            let Host::Ip(ip) = entry.host else { continue };
            let Some(target) = self.srv_target(entry) else {
                continue;
            };
            if seen_srv.insert((target.clone(), port)) {
                records.push(Record::from_rdata(
                    qname.clone(),
                    entry.ttl,
                    RData::SRV(SRV::new(0, weight, port, target.clone())),
                ));
            }
            if seen_addr.insert((target.clone(), ip)) {
                extra.push(address_record(target, entry.ttl, ip));
            }
        }
        Ok((records, extra))
    }

    fn srv_target(&self, entry: &Entry<'_>) -> Option<Name> {
        match (&entry.target, &entry.host) {
            (Target::Pod { ns }, Host::Ip(ip)) => {
                Some(self.name(&format!("{}.{ns}.pod", dashed_ip(ip))))
            }
            (t, _) => self.target_name(t),
        }
    }

    fn ns(&self, qname: &Name) -> (Vec<Record>, Vec<Record>) {
        let mut records = Vec::new();
        let mut extra = Vec::new();
        let mut seen = HashSet::new();
        for (target, ip) in &self.name_servers {
            extra.push(address_record(target.clone(), self.ttl, *ip));
            if seen.insert(target.clone()) {
                records.push(Record::from_rdata(
                    qname.clone(),
                    self.ttl,
                    RData::NS(NS(target.clone())),
                ));
            }
        }
        (records, extra)
    }

    /// PTR records for a cluster address: its Service, else the endpoints that have it, else
    /// (warren's addition; CoreDNS has no pod PTRs) the pod's `a-b-c-d.<ns>.pod` name.
    fn reverse(&self, qname: &Name, ip: IpAddr) -> Vec<Record> {
        let ptr =
            |target: Name| Record::from_rdata(qname.clone(), self.ttl, RData::PTR(PTR(target)));
        if let Some((ns, name)) = self.by_cluster_ip.get(&ip) {
            return vec![ptr(self.name(&format!("{name}.{ns}.svc")))];
        }
        let mut records = Vec::new();
        let mut seen = HashSet::new();
        for (label, ns, svc) in self.endpoints_by_ip.get(&ip).into_iter().flatten() {
            let target = self.name(&format!("{label}.{svc}.{ns}.svc"));
            if seen.insert(target.clone()) {
                records.push(ptr(target));
            }
        }
        if records.is_empty() && self.pods != PodMode::Disabled {
            for ns in self.pods_by_ip.get(&ip).into_iter().flatten() {
                let target = self.name(&format!("{}.{ns}.pod", dashed_ip(&ip)));
                if seen.insert(target.clone()) {
                    records.push(ptr(target));
                }
            }
        }
        records
    }
}

fn address_record(owner: Name, ttl: u32, ip: IpAddr) -> Record {
    match ip {
        IpAddr::V4(v4) => Record::from_rdata(owner, ttl, RData::A(A(v4))),
        IpAddr::V6(v6) => Record::from_rdata(owner, ttl, RData::AAAA(AAAA(v6))),
    }
}

fn port_matches(r: &Request<'_>, p: &PortInfo) -> bool {
    (r.port.is_empty() || r.port.eq_ignore_ascii_case(&p.name))
        && (r.protocol.is_empty() || r.protocol.eq_ignore_ascii_case(&p.protocol))
}

/// Splits the labels left of the domain (CoreDNS's parseRequest):
/// `[_port._proto.|endpoint.]service.namespace.(svc|pod)`. Two labels before the service are
/// always port and protocol (underscores optional); more is NXDOMAIN.
fn parse<'a>(rel: &[&'a str]) -> Result<Request<'a>, NameError> {
    let mut r = Request::default();
    if rel.is_empty() || rel == ["svc"] || rel == ["pod"] {
        return Ok(r);
    }
    let mut rest = rel;
    let (last, head) = rest.split_last().ok_or(NameError)?;
    r.kind = Some(match *last {
        "svc" => Kind::Svc,
        "pod" => Kind::Pod,
        _ => return Err(NameError),
    });
    rest = head;
    let Some((ns, head)) = rest.split_last() else {
        return Ok(r);
    };
    r.namespace = ns;
    rest = head;
    let Some((svc, head)) = rest.split_last() else {
        return Ok(r);
    };
    r.service = svc;
    match head {
        [] => {}
        [endpoint] => r.endpoint = endpoint,
        [port, protocol] => {
            r.port = port.strip_prefix('_').unwrap_or(port);
            r.protocol = protocol.strip_prefix('_').unwrap_or(protocol);
        }
        _ => return Err(NameError),
    }
    Ok(r)
}

/// The address a full-length `in-addr.arpa`/`ip6.arpa` name stands for.
pub fn reverse_address(lower: &Name) -> Option<IpAddr> {
    let net = lower.parse_arpa_name().ok()?;
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}
