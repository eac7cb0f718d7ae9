//! `docs/record.schema.json`, generated from the record's types.
//!
//! The record types derive `schemars::JsonSchema` in test builds only: schemars is a
//! dev-dependency, because the agent never writes a schema and the service binary
//! need not link the generator. Doc comments become descriptions; serde's attributes
//! give the names, the keys that may be absent (`skip_serializing_if`) and the
//! flattened opt-in groups. Two rules hold for every object and every number of the
//! record, so they are applied here rather than written on each field:
//! - an object lists all its keys (`additionalProperties: false`), unless its keys
//!   follow a pattern instead (the KVM counters);
//! - a number is never negative (times, rates, percentages), unless its field is
//!   marked `x-signed` (a disk's growth).
//!
//! Descriptions are the doc comments with their lines joined.
//!
//! An event line's envelope comes from the types; its event's own fields, typed in
//! `record/event` (one variant per event, read back by `record/event/de.rs`), are
//! still listed by hand in [`event_fields`], one schema for the fields of all events.
//!
//! The test below fails when the committed file differs from the generated one;
//! `VIRTDIAG_BLESS=1 cargo test --lib record::schema` rewrites it.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::transform::{transform_subschemas, Transform};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::opt_in::{KvmValue, KvmVcpuRecord, Named};
use super::{AgentRecord, CycleRecord, DomainIdentity, DomainRecord, NovaInfo, AGENT_EVENTS};

/// `ts`: RFC 3339, UTC, milliseconds.
pub const TS_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$";

/// A domain's UUID as libvirt writes it.
pub const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// A KVM statistic's name: `<name>.<type>`.
const KVM_NAME: &str = r"[A-Za-z0-9_]+\.(sum|cur|max)";

/// Values by name: an object whose every value is a `V`.
impl<V: JsonSchema> JsonSchema for Named<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Named_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// The schema of a [`super::opt_in::KvmRecord`]'s `vm` counters.
pub struct KvmCounters;

impl JsonSchema for KvmCounters {
    fn schema_name() -> Cow<'static, str> {
        "KvmCounters".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "KVM statistics by libvirt's name <name>.<type> (sum: cumulative, \
                cur: instant, max: peak); numbers, or booleans for flags.",
            "type": "object",
            "propertyNames": { "pattern": format!("^{KVM_NAME}$") },
            "additionalProperties": generator.subschema_for::<KvmValue>(),
        })
    }
}

/// A vCPU's KVM counters beside its `id`.
impl JsonSchema for KvmVcpuRecord {
    fn schema_name() -> Cow<'static, str> {
        "KvmVcpuRecord".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["id"],
            "properties": { "id": generator.subschema_for::<u32>() },
            "propertyNames": { "pattern": format!("^(id|{KVM_NAME})$") },
            "additionalProperties": generator.subschema_for::<KvmValue>(),
        })
    }
}

/// An agent line's `event`: one of [`AGENT_EVENTS`].
pub fn agent_event(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": AGENT_EVENTS })
}

/// The fields an event line may have after `event`, in libvirt's words
/// (docs/record.md, "Event lines").
fn event_fields() -> Value {
    let text_or_number = json!({"type": ["string", "integer"]});
    let optional_text = json!({"type": ["string", "null"]});
    json!({
        "event": {"enum": [
            "lifecycle", "reboot", "device_added", "device_removed",
            "device_removal_failed", "metadata_changed", "job_completed",
            "migration_iteration", "io_error", "block_threshold", "agent_lifecycle",
            "control_error", "watchdog", "tray_change", "disk_change", "memory_failure"
        ]},
        "type": text_or_number,
        "detail": text_or_number,
        "device": optional_text,
        "target": optional_text,
        "mac": optional_text,
        "path": optional_text,
        "old_path": optional_text,
        "new_path": optional_text,
        "action": text_or_number,
        "reason": {"type": ["string", "integer", "null"]},
        "state": text_or_number,
        "namespace": optional_text,
        "iteration": {"type": "integer"},
        "threshold_bytes": {"type": "integer", "minimum": 0},
        "excess_bytes": {"type": "integer", "minimum": 0},
        "recipient": text_or_number,
        "action_required": {"type": "boolean"},
        "recursive": {"type": "boolean"},
        "stats": {"type": "object"},
        "suppressed": {"type": "integer", "minimum": 1},
    })
}

/// The event line: its envelope from the types, its own fields from [`event_fields`].
fn event_line(generator: &mut SchemaGenerator) -> Value {
    let mut properties = json!({
        "kind": {"const": "event"},
        "schema": {"const": 1},
        "ts": {"type": "string", "pattern": TS_PATTERN},
        "host": {"type": "string", "minLength": 1},
        "domain": generator.subschema_for::<DomainIdentity>(),
        "nova": generator.subschema_for::<Option<NovaInfo>>(),
    });
    let own = event_fields();
    let (Value::Object(all), Value::Object(own)) = (&mut properties, own) else {
        unreachable!("both are objects");
    };
    all.extend(own);
    json!({
        "description": "One libvirt domain event, written as it happens (docs/record.md, \
            Event lines). The event's own fields follow, in libvirt's words.",
        "type": "object",
        "required": ["kind", "schema", "ts", "host", "domain", "nova", "event"],
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Closes every object that lists its keys and says nothing of others.
#[derive(Clone)]
struct Closed;

impl Transform for Closed {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            let open = ["additionalProperties", "propertyNames", "patternProperties"];
            if object.contains_key("properties") && !open.iter().any(|k| object.contains_key(*k)) {
                object.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
        transform_subschemas(self, schema);
    }
}

/// Joins the lines of each paragraph of a description: doc comments wrap at 88
/// columns, descriptions need not.
#[derive(Clone)]
struct Unwrapped;

impl Transform for Unwrapped {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(Value::String(text)) = schema.get_mut("description") {
            let paragraphs: Vec<String> = text
                .split("\n\n")
                .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
                .collect();
            *text = paragraphs.join("\n\n");
        }
        transform_subschemas(self, schema);
    }
}

/// Makes every number non-negative unless marked `x-signed` (the mark is removed).
#[derive(Clone)]
struct NonNegative;

impl Transform for NonNegative {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            let number = match object.get("type") {
                Some(Value::String(t)) => t == "number",
                Some(Value::Array(types)) => types.iter().any(|t| t == "number"),
                _ => false,
            };
            let signed = object.remove("x-signed").is_some();
            if number && !signed && !object.contains_key("minimum") {
                object.insert("minimum".into(), json!(0));
            }
        }
        transform_subschemas(self, schema);
    }
}

/// The schema of every NDJSON line the agent writes.
pub fn generate() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(Closed)
        .with_transform(NonNegative)
        .with_transform(Unwrapped)
        .into_generator();
    let mut one_of = vec![
        generator.subschema_for::<DomainRecord>().to_value(),
        generator.subschema_for::<CycleRecord>().to_value(),
        generator.subschema_for::<AgentRecord>().to_value(),
    ];
    let event = event_line(&mut generator);
    generator
        .definitions_mut()
        .insert("EventRecord".into(), event);
    one_of.push(json!({"$ref": "#/$defs/EventRecord"}));
    let definitions: Map<String, Value> = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "virtdiag NDJSON line, schema version 1",
        "description": "Every line of the spool and every record answer of the socket is one \
            of these objects; see docs/record.md. Generated from the record's types \
            (src/record/schema.rs): do not edit.",
        "oneOf": one_of,
        "$defs": definitions,
    })
}

mod tests;
