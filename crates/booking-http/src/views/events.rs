//! Events as the API sends them: the log's own envelope
//! ([`booking_core::Event`]: `seq`, `type`, `version`, `at`, `actor`,
//! `actor_key_id`, `request_id`, `data`), the same on the stream and over
//! the backplane. Its OpenAPI schema is built here from the payload structs
//! of `booking-core` (one `…Event` component per payload struct, chosen by
//! `type`), so the document cannot drift from what the log holds.

use std::borrow::Cow;
use std::collections::BTreeMap;

use booking_core::{Event, EventType, PAYLOAD_VERSION};
use serde::Serialize;
use utoipa::openapi::schema::{
    Discriminator, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// One event of the tenant's log.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct EventView(pub(crate) Event);

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    pub(crate) items: Vec<EventView>,
    /// The `seq` of the last event returned (or the `since` asked for when
    /// none was): what a client that follows the log keeps.
    pub(crate) last_seq: u64,
    /// The tenant's last event number when the request was served (read
    /// before the page): a client that shows state read after it and then
    /// follows the stream with `since` = it misses nothing.
    pub(crate) head_seq: u64,
    /// Pass as `since` (or `cursor`) for the next page; `null` on the last.
    pub(crate) next_cursor: Option<String>,
}

/// The event types whose payload is each payload struct, by the struct's
/// schema name.
fn by_payload() -> BTreeMap<String, Vec<EventType>> {
    let mut groups: BTreeMap<String, Vec<EventType>> = BTreeMap::new();
    for t in EventType::ALL {
        groups.entry(t.payload_schema().0).or_default().push(*t);
    }
    groups
}

fn component(payload: &str) -> String {
    format!("{payload}Event")
}

fn typed(t: Type, format: Option<KnownFormat>, nullable: bool) -> ObjectBuilder {
    let kind = if nullable {
        SchemaType::from_iter([t, Type::Null])
    } else {
        SchemaType::Type(t)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .format(format.map(SchemaFormat::KnownFormat))
}

/// The envelope around one payload struct, for the types that carry it.
fn envelope(payload: &str, types: &[EventType]) -> Schema {
    ObjectBuilder::new()
        .description(Some(format!(
            "An event whose `data` is a `{payload}`: {}.",
            types
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .property(
            "seq",
            typed(Type::Integer, Some(KnownFormat::Int64), false).description(Some(
                "Position in the tenant's log: 1, 2, 3, … without gaps",
            )),
        )
        .property(
            "tenant_id",
            typed(Type::String, Some(KnownFormat::Uuid), false),
        )
        .property(
            "type",
            typed(Type::String, None, false).enum_values(Some(types.iter().map(|t| t.as_str()))),
        )
        .property(
            "version",
            typed(Type::Integer, Some(KnownFormat::Int32), false)
                .description(Some(
                    "The version of the payload's schema it was written with",
                ))
                .enum_values(Some([PAYLOAD_VERSION])),
        )
        .property(
            "at",
            typed(Type::String, Some(KnownFormat::DateTime), false),
        )
        .property(
            "actor",
            typed(Type::String, None, false).description(Some(
                "The actor name of the key that made the change, or `system`",
            )),
        )
        .property(
            "actor_key_id",
            typed(Type::String, Some(KnownFormat::Uuid), true).description(Some(
                "The key that made the change (`null`: the system, the command line)",
            )),
        )
        .property(
            "request_id",
            typed(Type::String, None, true)
                .description(Some("The `x-request-id` of the request that made it")),
        )
        .property("data", Ref::from_schema_name(payload))
        .required("seq")
        .required("tenant_id")
        .required("type")
        .required("version")
        .required("at")
        .required("actor")
        .required("actor_key_id")
        .required("request_id")
        .required("data")
        .into()
}

impl PartialSchema for EventView {
    fn schema() -> RefOr<Schema> {
        let groups = by_payload();
        let mut discriminator = Discriminator::new("type");
        let mut one_of = OneOfBuilder::new().description(Some(
            "An audited change: who (`actor`, `actor_key_id`, `request_id`), when (`at`), \
             its place in the log (`seq`) and what (`type`, with its payload in `data`)",
        ));
        for (payload, types) in &groups {
            let name = component(payload);
            for t in types {
                discriminator.mapping.insert(
                    t.as_str().to_owned(),
                    format!("#/components/schemas/{name}"),
                );
            }
            one_of = one_of.item(Ref::from_schema_name(name));
        }
        one_of.discriminator(Some(discriminator)).into()
    }
}

impl ToSchema for EventView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Event")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        for (payload, types) in by_payload() {
            schemas.push((component(&payload), envelope(&payload, &types).into()));
            let (name, schema, nested) = types[0].payload_schema();
            schemas.push((name, schema));
            schemas.extend(nested);
        }
    }
}
