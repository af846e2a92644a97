//! The deployment controller's pure arithmetic (kube's `pkg/controller/deployment/util`):
//! the pod-template-hash, maxSurge/maxUnavailable resolution, and the rolling update's step
//! sizes. Everything here is a function of its arguments.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `rand.SafeEncodeString`'s alphabet: no vowels and no look-alikes.
const SAFE_ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits (Go's hash/fnv New32a).
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `rand.SafeEncodeString`: each byte mapped onto the safe alphabet.
pub fn safe_encode_string(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE_ALPHANUMS[usize::from(b) % SAFE_ALPHANUMS.len()] as char)
        .collect()
}

/// The pod-template-hash of already-serialized template bytes: FNV-32a of the bytes, then, with
/// a collision count, its 8-byte little-endian form (kube writes a uint32 into an 8-byte
/// buffer), rendered as `SafeEncodeString(decimal(hash))` — kube's `controller.ComputeHash`.
///
/// kube feeds the hasher a go-spew dump of the Go struct; warren feeds it the canonical JSON
/// of the template (k8s-openapi field order, sorted maps). The construction, the alphabet and
/// the collision handling are kube's; the value for a given template is therefore warren's own,
/// stable across restarts and versions of warren.
pub fn hash_bytes(template: &[u8], collision_count: Option<i32>) -> String {
    let mut data = template.to_vec();
    if let Some(c) = collision_count {
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&(c as u32).to_le_bytes());
        data.extend_from_slice(&buf);
    }
    safe_encode_string(&fnv32a(&data).to_string())
}

/// The pod-template-hash of a template (see [`hash_bytes`]).
pub fn compute_hash(
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    collision_count: Option<i32>,
) -> String {
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    hash_bytes(&bytes, collision_count)
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, or a percent of `total`, rounded up
/// or down. A malformed percent is an error.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let Some(p) = s.strip_suffix('%') else {
                return Err(format!(
                    "invalid value for IntOrString: invalid type: string is not a percentage: {s:?}"
                ));
            };
            let p: i64 = p
                .parse()
                .map_err(|_| format!("invalid value {s:?}: must be an integer percentage"))?;
            let prod = p * i64::from(total);
            let v = if round_up {
                (prod + 99).div_euclid(100)
            } else {
                prod.div_euclid(100)
            };
            Ok(v as i32)
        }
    }
}

/// `ResolveFenceposts`: (maxSurge rounded up, maxUnavailable rounded down); both zero would
/// stall a rollout, so maxUnavailable becomes 1 then.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let default = IntOrString::String("25%".into());
    let surge = scaled_value(max_surge.unwrap_or(&default), desired, true)?;
    let unavailable = scaled_value(max_unavailable.unwrap_or(&default), desired, false)?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

/// `MaxUnavailable` of a rolling deployment: never more than the replicas.
pub fn max_unavailable(replicas: i32, fenceposts: (i32, i32)) -> i32 {
    if replicas == 0 {
        return 0;
    }
    fenceposts.1.min(replicas)
}

/// One ReplicaSet as the planner sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RsState {
    pub name: String,
    /// spec.replicas
    pub replicas: i32,
    /// status.availableReplicas
    pub available: i32,
}

/// `NewRSNewReplicas` for a rolling update: how far the new ReplicaSet may grow now.
pub fn new_rs_new_replicas(replicas: i32, max_surge: i32, all: &[RsState], new: &RsState) -> i32 {
    let current: i32 = all.iter().map(|r| r.replicas).sum();
    let max_total = replicas + max_surge;
    if current >= max_total {
        return new.replicas;
    }
    let up = (max_total - current).min(replicas - new.replicas);
    new.replicas + up.max(0)
}

/// `reconcileOldReplicaSets` as a plan: the new spec.replicas of old ReplicaSets to scale down
/// (oldest first), first removing unhealthy replicas, then scaling down available ones while
/// keeping `replicas - maxUnavailable` available. `old` must be sorted oldest first.
pub fn plan_old_scale_down(
    replicas: i32,
    max_unavailable: i32,
    old: &[RsState],
    new: Option<&RsState>,
) -> Vec<(String, i32)> {
    let old_pods: i32 = old.iter().map(|r| r.replicas).sum();
    if old_pods == 0 {
        return Vec::new();
    }
    let all_pods = old_pods + new.map_or(0, |n| n.replicas);
    let min_available = replicas - max_unavailable;
    let new_unavailable = new.map_or(0, |n| (n.replicas - n.available).max(0));
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut old: Vec<RsState> = old.to_vec();
    let mut out: Vec<(String, i32)> = Vec::new();
    // cleanupUnhealthyReplicas
    let mut cleaned = 0;
    for rs in old.iter_mut() {
        if cleaned >= max_scaled_down {
            break;
        }
        if rs.replicas == 0 || rs.available >= rs.replicas {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(rs.replicas - rs.available);
        rs.replicas -= down;
        cleaned += down;
        out.push((rs.name.clone(), rs.replicas));
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    let available: i32 = old.iter().map(|r| r.available.min(r.replicas)).sum::<i32>()
        + new.map_or(0, |n| n.available);
    if available > min_available {
        let total_down = available - min_available;
        let mut done = 0;
        for rs in old.iter_mut() {
            if done >= total_down {
                break;
            }
            if rs.replicas == 0 {
                continue;
            }
            let down = rs.replicas.min(total_down - done);
            rs.replicas -= down;
            done += down;
            match out.iter_mut().find(|(n, _)| *n == rs.name) {
                Some(e) => e.1 = rs.replicas,
                None => out.push((rs.name.clone(), rs.replicas)),
            }
        }
    }
    out
}

/// `GetProportion` via `getReplicaSetFraction` (proportional scaling of a paused or mid-rollout
/// deployment): how many replicas this ReplicaSet gains (or loses).
pub fn proportion(
    rs_replicas: i32,
    rs_max_replicas_annotation: Option<i32>,
    deployment_replicas: i32,
    max_surge: i32,
    status_replicas: i32,
    to_add: i32,
    added: i32,
) -> i32 {
    if rs_replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if deployment_replicas == 0 {
        -rs_replicas
    } else {
        let deployment_total = deployment_replicas + max_surge;
        let annotated = rs_max_replicas_annotation.unwrap_or(status_replicas);
        if annotated == 0 {
            0
        } else {
            let size = f64::from(rs_replicas) * f64::from(deployment_total) / f64::from(annotated);
            size.round() as i32 - rs_replicas
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(name: &str, replicas: i32, available: i32) -> RsState {
        RsState {
            name: name.into(),
            replicas,
            available,
        }
    }

    #[test]
    fn fnv32a_known_vectors() {
        // the FNV reference test vectors (and Go's hash/fnv tests)
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encoding_is_kubes() {
        // rand.SafeEncodeString maps '0'..'9' (48..57) onto the alphabet modulo 27
        assert_eq!(safe_encode_string("0123456789"), "456789bcdf");
        // kube's hashes are decimal uint32s rendered this way: the hash of the nginx
        // Deployment in kube's docs, "5d59d67564", is the rendering of 1815823120, and every
        // kube pod-template-hash uses only these ten characters
        assert_eq!(safe_encode_string("1815823120"), "5d59d67564");
        assert_eq!(
            safe_encode_string(&4_294_967_295u32.to_string()),
            "86f8fbc6f9"
        );
        for c in safe_encode_string("4294967295").chars() {
            assert!("bcdfghjklmnpqrstvwxz2456789".contains(c));
        }
    }

    #[test]
    fn hash_changes_with_template_and_collision_count() {
        let a = hash_bytes(b"{\"spec\":1}", None);
        assert_eq!(a, safe_encode_string(&fnv32a(b"{\"spec\":1}").to_string()));
        assert_ne!(a, hash_bytes(b"{\"spec\":2}", None));
        let c1 = hash_bytes(b"{\"spec\":1}", Some(1));
        let mut with = b"{\"spec\":1}".to_vec();
        with.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(c1, safe_encode_string(&fnv32a(&with).to_string()));
        assert_ne!(c1, a);
        assert_ne!(c1, hash_bytes(b"{\"spec\":1}", Some(2)));
    }

    #[test]
    fn percent_rounding_as_kube() {
        let p = |s: &str| IntOrString::String(s.into());
        // 25% of 3: surge rounds up to 1, unavailable rounds down to 0
        assert_eq!(resolve_fenceposts(None, None, 3), Ok((1, 0)));
        assert_eq!(resolve_fenceposts(None, None, 10), Ok((3, 2)));
        assert_eq!(
            resolve_fenceposts(Some(&p("0%")), Some(&p("0%")), 10),
            Ok((0, 1))
        );
        assert_eq!(
            resolve_fenceposts(Some(&IntOrString::Int(0)), Some(&IntOrString::Int(0)), 5),
            Ok((0, 1))
        );
        assert_eq!(
            resolve_fenceposts(Some(&p("50%")), Some(&p("50%")), 5),
            Ok((3, 2))
        );
        assert_eq!(
            resolve_fenceposts(Some(&p("100%")), Some(&p("1%")), 1),
            Ok((1, 0))
        );
        assert!(resolve_fenceposts(Some(&p("abc")), None, 1).is_err());
        assert!(scaled_value(&p("5"), 10, true).is_err());
        assert_eq!(max_unavailable(3, (1, 5)), 3);
        assert_eq!(max_unavailable(0, (1, 5)), 0);
    }

    #[test]
    fn new_rs_grows_within_surge() {
        // 3 replicas, surge 1: old at 3, new at 0 -> new may go to 1
        assert_eq!(
            new_rs_new_replicas(3, 1, &[rs("old", 3, 3), rs("new", 0, 0)], &rs("new", 0, 0)),
            1
        );
        // total already at 4: no growth
        assert_eq!(
            new_rs_new_replicas(3, 1, &[rs("old", 3, 3), rs("new", 1, 0)], &rs("new", 1, 0)),
            1
        );
        // never above replicas
        assert_eq!(
            new_rs_new_replicas(3, 5, &[rs("old", 0, 0), rs("new", 2, 2)], &rs("new", 2, 2)),
            3
        );
    }

    #[test]
    fn old_scale_down_keeps_minimum_available() {
        // replicas 3, maxUnavailable 0: old 3/3 available, new 1 not yet available: nothing
        assert!(plan_old_scale_down(3, 0, &[rs("old", 3, 3)], Some(&rs("new", 1, 0))).is_empty());
        // new became available: old may lose one
        assert_eq!(
            plan_old_scale_down(3, 0, &[rs("old", 3, 3)], Some(&rs("new", 1, 1))),
            vec![("old".to_string(), 2)]
        );
        // unhealthy old replicas go first, whatever the availability
        assert_eq!(
            plan_old_scale_down(3, 1, &[rs("old", 3, 1)], Some(&rs("new", 0, 0))),
            vec![("old".to_string(), 2)]
        );
        // two old sets: oldest first
        assert_eq!(
            plan_old_scale_down(
                4,
                1,
                &[rs("a", 2, 2), rs("b", 2, 2)],
                Some(&rs("new", 1, 1))
            ),
            vec![("a".to_string(), 0)]
        );
    }

    #[test]
    fn rollout_simulation_respects_bounds() {
        // drive a whole rolling update, pods becoming available at once, and check the
        // invariants on every step: total <= replicas+surge, available >= replicas-unavailable
        for (replicas, surge, unavail) in [(3, 1, 0), (3, 0, 1), (10, 3, 2), (5, 2, 2), (1, 1, 0)] {
            let mut old = rs("old", replicas, replicas);
            let mut new = rs("new", 0, 0);
            for _step in 0..100 {
                let all = [old.clone(), new.clone()];
                let grow = new_rs_new_replicas(replicas, surge, &all, &new);
                if grow != new.replicas {
                    new.replicas = grow;
                } else {
                    for (_, n) in plan_old_scale_down(
                        replicas,
                        unavail,
                        std::slice::from_ref(&old),
                        Some(&new),
                    ) {
                        old.replicas = n;
                    }
                }
                // pods of the new set become available, old ones go at once
                old.available = old.available.min(old.replicas);
                assert!(old.replicas + new.replicas <= replicas + surge);
                assert!(old.available + new.available >= replicas - unavail);
                new.available = new.replicas;
                if old.replicas == 0 && new.available == replicas {
                    break;
                }
            }
            assert_eq!(
                (old.replicas, new.replicas),
                (0, replicas),
                "{replicas} {surge} {unavail}"
            );
        }
    }

    #[test]
    fn proportional_scaling() {
        // deployment 10 -> 15 while two sets 6 and 4 (max-replicas 13 = 10 + 3 surge); surge at
        // 15 is 4: allowed 19, to add 9
        let a = proportion(6, Some(13), 15, 4, 10, 9, 0);
        assert_eq!(a, (6.0f64 * 19.0 / 13.0).round() as i32 - 6);
        assert_eq!(proportion(0, Some(13), 15, 4, 10, 9, 0), 0);
        assert_eq!(proportion(5, None, 0, 0, 5, -5, 0), -5);
    }
}
