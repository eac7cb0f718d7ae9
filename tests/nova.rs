//! The Nova view against the 2.48 diagnostics body as the API reference defines it:
//! every field present, no other, each of its type (integers or null, Nova's state
//! and driver names), for every domain of the demo host, from `once --format nova`
//! and from the socket's `get NAME format=nova` and `all format=nova`.

mod common;

use std::process::Command;

use serde_json::{json, Value};

use common::agent::{demo_config, workdir, Agent};

/// The body of `GET /servers/{id}/diagnostics` at microversion 2.48, as a JSON Schema
/// written from the API reference's field list: closed objects, every field required.
fn schema() -> jsonschema::Validator {
    let int = || json!({"type": ["integer", "null"]});
    let closed = |fields: &[&str], extra: Value| {
        let mut properties = serde_json::Map::new();
        for field in fields {
            properties.insert(field.to_string(), int());
        }
        for (k, v) in extra.as_object().unwrap() {
            properties.insert(k.clone(), v.clone());
        }
        let required: Vec<&String> = properties.keys().collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    };
    let body = closed(
        &["uptime"],
        json!({
            "state": {"enum": ["pending", "running", "paused", "shutdown", "crashed", "suspended"]},
            "driver": {"enum": ["ironic", "libvirt", "vmwareapi", "xenapi"]},
            "hypervisor": {"type": ["string", "null"]},
            "hypervisor_os": {"type": ["string", "null"]},
            "config_drive": {"type": "boolean"},
            "num_cpus": {"type": "integer"},
            "num_nics": {"type": "integer"},
            "num_disks": {"type": "integer"},
            "memory_details": closed(&["maximum", "used"], json!({})),
            "cpu_details": {"type": "array", "items": closed(&["id", "time", "utilisation"], json!({}))},
            "nic_details": {"type": "array", "items": closed(
                &["rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate",
                  "tx_octets", "tx_errors", "tx_drop", "tx_packets", "tx_rate"],
                json!({"mac_address": {"type": ["string", "null"]}}),
            )},
            "disk_details": {"type": "array", "items": closed(
                &["read_bytes", "read_requests", "write_bytes", "write_requests", "errors_count"],
                json!({}),
            )},
        }),
    );
    let line = json!({
        "type": "object",
        "properties": {
            "domain": {"type": "string"},
            "uuid": {"type": "string"},
            "diagnostics": body,
        },
        "required": ["domain", "uuid", "diagnostics"],
        "additionalProperties": false,
    });
    jsonschema::validator_for(&line).unwrap()
}

fn assert_nova_line(validator: &jsonschema::Validator, line: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(line)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\nin {line}");
    let d = &line["diagnostics"];
    for (count, list) in [
        ("num_cpus", "cpu_details"),
        ("num_nics", "nic_details"),
        ("num_disks", "disk_details"),
    ] {
        assert_eq!(d[count], d[list].as_array().unwrap().len(), "{line}");
    }
}

#[test]
fn once_and_the_socket_answer_the_2_48_body() {
    let validator = schema();
    let out = Command::new(common::binary())
        .args(["once", "--format", "nova", "--sample-interval", "0.2"])
        .args(["--uri", &common::demo_uri()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = common::parse_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_nova_line(&validator, line);
    }
    let nova = lines
        .iter()
        .find(|l| l["domain"] == "instance-0000002a")
        .unwrap();
    let d = &nova["diagnostics"];
    assert_eq!(d["state"], "running");
    assert_eq!(d["memory_details"]["maximum"], 2048, "MiB");
    assert!(d["cpu_details"][0]["utilisation"].is_u64(), "filled: {d}");
    assert!(d["nic_details"][0]["rx_rate"].is_u64(), "filled: {d}");
    let spare = lines.iter().find(|l| l["domain"] == "spare").unwrap();
    assert_eq!(spare["diagnostics"]["state"], "shutdown");
    assert_eq!(spare["diagnostics"]["num_cpus"], 0);

    let dir = workdir("nova");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(2);
    let answer = agent.request("get instance-0000002a format=nova");
    assert_eq!(answer.len(), 1);
    assert_nova_line(&validator, &answer[0]);
    let all = agent.request("all format=nova");
    assert_eq!(all.len(), 5, "four lines and the end line: {all:?}");
    for line in &all[..4] {
        assert_nova_line(&validator, line);
    }
    assert_eq!(all[4]["kind"], "end");
}
