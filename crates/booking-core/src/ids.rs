//! Typed identifiers. A fresh id is a UUID v7 (time-ordered, so indexes
//! stay append-friendly), wrapped in its own type so a `BranchId` can never
//! be passed where a `ResourceId` is expected. The one exception: a
//! reservation or catalog item created by a request sent with an
//! `Idempotency-Key` gets an id derived from it (a UUID v8), the same on
//! every retry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUID v7) id.
            #[must_use]
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (read from storage or a request).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A tenant: one business (a clinic chain). Nothing crosses tenants.
    TenantId
);
id_type!(
    /// A branch of a tenant (one clinic location).
    BranchId
);
id_type!(
    /// A bookable resource: a dentist, a chair, a room.
    ResourceId
);
id_type!(
    /// A service item (a treatment) that can be booked.
    ServiceId
);
id_type!(
    /// A product sold from per-branch stock alongside a service.
    ProductId
);
id_type!(
    /// A reservation of a resource for a time range.
    ReservationId
);
id_type!(
    /// An API key (its id, not the secret).
    ApiKeyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_time_ordered() {
        let a = ReservationId::generate();
        let b = ReservationId::generate();
        assert!(a < b, "UUID v7 ids must sort by creation time");
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn ids_round_trip_through_strings() {
        let id = BranchId::generate();
        assert_eq!(id.to_string().parse::<BranchId>().unwrap(), id);
        assert!("not-a-uuid".parse::<BranchId>().is_err());
    }
}
