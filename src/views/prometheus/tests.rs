//! The exposition's names, values, escaping and omissions.

use std::collections::HashSet;

use super::*;
use crate::record::{ControlState, DiskError, DomainState, GuestStats, JobOperation, StateReason};
use crate::views::fixture::record;

fn text(records: &[DomainRecord]) -> String {
    let mut out = Vec::new();
    write_domains(records, &mut out);
    String::from_utf8(out).unwrap()
}

fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .collect()
}

#[test]
fn every_family_has_one_help_and_one_type_and_follows_the_conventions() {
    let mut health = Vec::new();
    write_node(None, &mut health);
    write_health(&Health::default(), &mut health);
    let all = text(&[record("a", "u-a")]) + std::str::from_utf8(&health).unwrap();
    let mut seen = HashSet::new();
    for line in all.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        assert!(seen.insert(name), "{name} twice");
        assert!(name.starts_with("virtdiag_"), "{name}");
        assert_eq!(kind == "counter", name.ends_with("_total"), "{name}");
        assert!(!name.contains("_per_s") && !name.contains("_pct"), "{name}");
        assert_eq!(
            all.lines()
                .filter(|l| *l == format!("# HELP {name} ").as_str()
                    || l.starts_with(&format!("# HELP {name} ")))
                .count(),
            1,
            "{name}"
        );
    }
    assert_eq!(seen.len(), family_count());
    assert!(!all.contains("instance=\""), "no label named instance");
    for line in all.lines().filter(|l| l.starts_with("virtdiag_domain")) {
        assert!(line.contains("{domain=\"a\",uuid=\"u-a\""), "{line}");
    }
}

fn family_count() -> usize {
    DOMAIN.len() + VCPU.len() + DISK.len() + NIC.len() + 4 + NODE.len() + 1 + HEALTH.len()
}

#[test]
fn values_are_in_base_units_and_exact() {
    let t = text(&[record("a", "u-a")]);
    let one = |name: &str| samples(&t, name)[0].rsplit(' ').next().unwrap().to_owned();
    assert_eq!(
        one("virtdiag_domain_info_cpu_time_seconds_total"),
        "5.500000001"
    );
    assert_eq!(
        one("virtdiag_domain_info_maximum_memory_bytes"),
        "2147483648"
    );
    assert_eq!(one("virtdiag_domain_info_state"), "1");
    assert_eq!(one("virtdiag_domain_info_virtual_cpus"), "2");
    assert_eq!(one("virtdiag_domain_memory_stats_used_bytes"), "536870912");
    assert_eq!(
        samples(&t, "virtdiag_domain_vcpu_time_seconds_total"),
        [
            "virtdiag_domain_vcpu_time_seconds_total{domain=\"a\",uuid=\"u-a\",vcpu=\"0\"} 2",
            "virtdiag_domain_vcpu_time_seconds_total{domain=\"a\",uuid=\"u-a\",vcpu=\"1\"} 3.0000005",
        ]
    );
    assert_eq!(
        samples(&t, "virtdiag_domain_openstack_info"),
        ["virtdiag_domain_openstack_info{domain=\"a\",uuid=\"u-a\",instance_name=\"web \\\"1\\\"\",flavor=\"m1.small\",project_name=\"demo\",project_id=\"p-1\",user_name=\"\",user_id=\"u-1\"} 1"]
    );
    assert!(
        samples(&t, "virtdiag_domain_interface_stats_receive_bytes_total")[1]
            .contains("target_device=\"fa:16:3e:00:00:02\"")
    );
}

#[test]
fn a_null_omits_the_series() {
    let t = text(&[record("a", "u-a")]);
    assert!(samples(&t, "virtdiag_domain_block_stats_errors_total").is_empty());
    assert!(samples(&t, "virtdiag_domain_memory_stats_swap_in_bytes").is_empty());
    // The empty CD-ROM: described, no counters.
    assert_eq!(samples(&t, "virtdiag_domain_block_stats_info").len(), 3);
    assert_eq!(
        samples(&t, "virtdiag_domain_block_stats_read_bytes_total").len(),
        2
    );
    // vCPUs not read: no count of 0.
    let mut no_vcpus = record("v", "u-v");
    no_vcpus.cpu.as_mut().unwrap().vcpus.clear();
    assert!(samples(&text(&[no_vcpus]), "virtdiag_domain_info_virtual_cpus").is_empty());
    // An inactive domain without Nova metadata: state and memory only.
    let mut off = record("off", "u-off");
    off.domain.state = DomainState::Shutoff;
    off.nova = None;
    off.cpu = None;
    off.memory.current_kib = None;
    off.memory.used_kib = None;
    off.memory.balloon = None;
    off.disks.clear();
    off.nics.clear();
    let t = text(&[off]);
    let series: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        series.len(),
        4,
        "state, maximum memory, missing fields, state info: {series:?}"
    );
}

#[test]
fn odd_names_are_escaped() {
    let t = text(&[record("q\"b\\s\nn é", "u")]);
    assert!(
        t.contains("{domain=\"q\\\"b\\\\s\\nn é\",uuid=\"u\"}"),
        "{t}"
    );
    assert!(t
        .lines()
        .all(|l| !l.starts_with(" ") && !l.starts_with("n é")));
}

#[test]
fn series_per_domain_as_documented() {
    // The fixture: 2 vCPUs, 3 disks (one empty), 2 NICs, Nova metadata, a balloon
    // reporting 7 statistics.
    let t = text(&[record("a", "u-a")]);
    let series = t.lines().filter(|l| !l.starts_with('#')).count();
    let domain = 5 + 7 + 1 + 1; // info, balloon statistics, missing fields, state info
    let per_vcpu = 2; // state and time: the fixture has no delay or wait
    let per_disk = 1 + 4; // info + counters QEMU fills (errors are null)
    let per_nic = 1 + NIC.len();
    assert_eq!(
        series,
        domain + 1 + 2 * per_vcpu + 2 * per_disk + 1 + 2 * per_nic
    );
}

#[test]
fn docs_prometheus_md_lists_every_family_and_the_cardinality() {
    let doc = include_str!("../../../docs/prometheus.md");
    let names = DOMAIN
        .iter()
        .map(|f| f.name)
        .chain(VCPU.iter().map(|f| f.name));
    let names = names
        .chain(DISK.iter().map(|f| f.name))
        .chain(NIC.iter().map(|f| f.name))
        .chain(HEALTH.iter().map(|f| f.name))
        .chain(NODE.iter().map(|f| f.name))
        .chain([
            OPENSTACK_INFO.name,
            STATE_INFO.name,
            DISK_INFO.name,
            NIC_INFO.name,
            NODE_DOMAINS.0,
        ]);
    for name in names {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in docs/prometheus.md"
        );
    }
    let cardinality = format!(
        "**{}** ({} domain families and the state info, plus 1 OpenStack info for a\nNova instance) + **{}** per vCPU + **{}** per disk (info + {} families) + **{}** per NIC\n(info + {} counters); plus the host's {} and the agent's {}.",
        DOMAIN.len() + 2,
        DOMAIN.len(),
        VCPU.len(),
        DISK.len() + 1,
        DISK.len(),
        NIC.len() + 1,
        NIC.len(),
        NODE.len() + 5,
        HEALTH.len()
    );
    assert!(
        doc.contains(&cardinality),
        "docs/prometheus.md: {cardinality}"
    );
}

#[test]
fn health_omits_what_is_unknown() {
    let mut out = Vec::new();
    write_health(
        &Health {
            up: true,
            cycle_duration_seconds: Some(0.25),
            ..Health::default()
        },
        &mut out,
    );
    let t = String::from_utf8(out).unwrap();
    let series: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        series,
        ["virtdiag_up 1", "virtdiag_cycle_duration_seconds 0.25"]
    );
}

#[test]
fn verdicts_have_series_only_when_there_is_a_verdict() {
    let mut r = record("a", "u-a");
    let quiet = text(std::slice::from_ref(&r));
    for name in [
        "virtdiag_domain_lifecycle_transitions",
        "virtdiag_domain_crashes_total",
        "virtdiag_domain_control_state",
        "virtdiag_domain_job_info_operation",
        "virtdiag_domain_block_error_code",
    ] {
        assert!(samples(&quiet, name).is_empty(), "{name}");
    }
    assert_eq!(
        samples(&quiet, "virtdiag_domain_state_info"),
        ["virtdiag_domain_state_info{domain=\"a\",uuid=\"u-a\",state=\"running\",reason=\"booted\"} 1"]
    );
    r.domain.state = DomainState::Paused;
    r.domain.reason = StateReason::Ioerror;
    r.domain.transitions = Some(Some(3));
    r.domain.crashes = Some(Some(1));
    r.disks[0].error = Some(DiskError::NoSpace);
    r.memory.balloon.as_mut().unwrap().guest_stats = Some(GuestStats::Off);
    r.collect.control = Some(crate::record::ControlRecord {
        state: ControlState::Occupied,
        since_ms: 42_500,
        reason: None,
    });
    r.job = Some(crate::record::JobRecord {
        operation: JobOperation::Dump,
        elapsed_ms: Some(1500),
        data_total_bytes: Some(100),
        data_processed_bytes: Some(40),
        ..Default::default()
    });
    let t = text(&[r]);
    let one = |name: &str| samples(&t, name)[0].rsplit(' ').next().unwrap().to_owned();
    assert_eq!(one("virtdiag_domain_lifecycle_transitions"), "3");
    assert_eq!(one("virtdiag_domain_crashes_total"), "1");
    assert_eq!(one("virtdiag_domain_control_state"), "2");
    assert_eq!(one("virtdiag_domain_control_duration_seconds"), "42.5");
    assert_eq!(one("virtdiag_domain_memory_stats_guest_stats"), "1");
    assert_eq!(one("virtdiag_domain_job_info_operation"), "8");
    assert_eq!(one("virtdiag_domain_job_info_time_elapsed_seconds"), "1.5");
    assert_eq!(one("virtdiag_domain_job_info_data_processed_bytes"), "40");
    assert!(samples(&t, "virtdiag_domain_job_info_time_remaining_seconds").is_empty());
    let error = samples(&t, "virtdiag_domain_block_error_code");
    assert_eq!(error.len(), 1);
    assert!(error[0].contains("target_device=\"vda\"") && error[0].ends_with(" 2"));
    assert!(samples(&t, "virtdiag_domain_state_info")[0].contains("reason=\"ioerror\""));
}

#[test]
fn the_host_series_come_from_the_node_record() {
    let mut out = Vec::new();
    let node = crate::record::NodeRecord {
        cpus: Some(4),
        memory_kib: Some(1024),
        memory_free_kib: None,
        cpu_utilisation_pct: Some(200.0),
        domains: crate::record::DomainStates {
            running: 3,
            paused: 1,
            ..Default::default()
        },
        vcpus_running: 6,
        vcpu_overcommit: Some(1.5),
        memory_max_kib_running: 2048,
        memory_overcommit: Some(2.0),
    };
    write_node(Some(&node), &mut out);
    let t = String::from_utf8(out).unwrap();
    let one = |name: &str| samples(&t, name)[0].rsplit(' ').next().unwrap().to_owned();
    assert_eq!(one("virtdiag_node_cpus"), "4");
    assert_eq!(one("virtdiag_node_memory_bytes"), "1048576");
    assert!(samples(&t, "virtdiag_node_memory_free_bytes").is_empty());
    assert_eq!(one("virtdiag_node_cpu_utilisation_ratio"), "0.5");
    assert_eq!(one("virtdiag_node_vcpu_overcommit_ratio"), "1.5");
    assert_eq!(one("virtdiag_node_memory_max_running_bytes"), "2097152");
    let domains = samples(&t, "virtdiag_node_domains");
    assert_eq!(domains.len(), 5);
    assert!(domains.contains(&"virtdiag_node_domains{state=\"paused\"} 1"));
}
