//! Properties of the pure rules, checked against brute-force definitions.

use booking_core::{
    Minutes, Money, Product, ProductBranch, ProductId, Quantity, Reservation, Schedule, Status,
    TimeRange, pricing, stock,
};
use booking_testkit::fixture::Clinic;
use booking_testkit::strategies::{money, money_in, name, quantity, time_range, weekly_hours};
use chrono::{Datelike, Duration, Timelike};
use proptest::prelude::*;

fn minutes_of(r: &TimeRange) -> impl Iterator<Item = chrono::DateTime<chrono::Utc>> + '_ {
    (0..r.duration().num_minutes()).map(move |m| r.start() + Duration::minutes(m))
}

proptest! {
    #[test]
    fn overlap_is_symmetric_and_means_sharing_an_instant(a in time_range(), b in time_range()) {
        let shared = minutes_of(&a).any(|m| b.start() <= m && m < b.end());
        prop_assert_eq!(a.overlaps(&b), shared);
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
    }

    #[test]
    fn touching_ranges_never_overlap(a in time_range(), len in 1i64..240) {
        let b = TimeRange::new(a.end(), a.end() + Duration::minutes(len), &booking_core::RangeLimits::bookings()).unwrap();
        prop_assert!(!a.overlaps(&b) && !b.overlaps(&a));
    }

    #[test]
    fn widening_never_shrinks_a_range(a in time_range(), before in 0u32..=120, after in 0u32..=120) {
        let w = a.widened(Minutes::new(before).unwrap(), Minutes::new(after).unwrap());
        prop_assert!(w.contains(&a));
        prop_assert_eq!(w.duration(), a.duration() + Duration::minutes(i64::from(before + after)));
    }

    #[test]
    fn money_addition_is_exact_or_an_error(a in money(), b in money()) {
        let sum = a.checked_add(b);
        if a.currency() != b.currency() {
            prop_assert!(sum.is_err());
        } else {
            let exact = i128::from(a.amount_minor()) + i128::from(b.amount_minor());
            match sum {
                Ok(s) => prop_assert_eq!(i128::from(s.amount_minor()), exact),
                Err(_) => prop_assert!(exact > i128::from(i64::MAX)),
            }
            prop_assert_eq!(a.checked_add(b), b.checked_add(a));
        }
    }

    #[test]
    fn a_snapshot_total_is_the_sum_of_its_lines(
        prices in prop::collection::vec((money_in(booking_core::Currency::EUR), quantity(), prop::option::of(money_in(booking_core::Currency::EUR))), 0..6),
        product_name in name(),
    ) {
        let c_tenant = booking_core::TenantId::generate();
        let branch = booking_core::BranchId::generate();
        let items: Vec<(Product, ProductBranch, Quantity)> = prices.iter().map(|(base, q, over)| {
            let p = Product { id: ProductId::generate(), tenant_id: c_tenant, name: product_name.clone(), price: *base };
            let pb = ProductBranch { tenant_id: c_tenant, product_id: p.id, branch_id: branch, stock: 0, price: *over };
            (p, pb, *q)
        }).collect();
        let refs: Vec<_> = items.iter().map(|(p, b, q)| (p, b, *q)).collect();
        let snap = pricing::snapshot(None, &refs).unwrap();
        let expected: i128 = prices.iter().map(|(base, q, over)| {
            i128::from(over.unwrap_or(*base).amount_minor()) * i128::from(q.get())
        }).sum();
        prop_assert_eq!(snap.total.map_or(0, |m| i128::from(m.amount_minor())), expected);
        prop_assert_eq!(snap.lines.len(), prices.len());
    }

    #[test]
    fn working_hours_admit_exactly_the_ranges_inside_local_hours(
        hours in weekly_hours(),
        r in time_range(),
        zone in prop_oneof![Just(chrono_tz::Europe::Madrid), Just(chrono_tz::Asia::Kolkata), Just(chrono_tz::America::Sao_Paulo)],
    ) {
        // The reference week (January 2030) has no DST change in these zones,
        // so a per-minute local reading is the exact definition; DST days
        // have their own unit tests in booking-core.
        let schedule = Schedule::weekly(hours.clone());
        let inside = minutes_of(&r).all(|m| {
            let local = m.with_timezone(&zone);
            let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap();
            hours
                .day(local.weekday().num_days_from_monday() as usize)
                .iter()
                .any(|i| i.open() <= minute && minute < i.close())
        });
        prop_assert_eq!(schedule.permits(zone, &r), inside);
    }

    #[test]
    fn stock_movements_net_to_the_lines_exactly_while_stock_is_held(
        path in prop::collection::vec(prop_oneof![
            Just(Status::Held), Just(Status::Confirmed), Just(Status::Completed),
            Just(Status::Cancelled), Just(Status::Expired)], 1..6),
        qty in quantity(),
    ) {
        let c = Clinic {
            tenant: booking_core::TenantId::generate(),
            madrid: booking_core::BranchId::generate(),
            lisbon: booking_core::BranchId::generate(),
            dentist: booking_core::ResourceId::generate(),
            chair: booking_core::ResourceId::generate(),
            cleaning: booking_core::ServiceId::generate(),
            kit: ProductId::generate(),
            actor: booking_core::Actor::new("p").unwrap(),
            by: booking_core::Attribution::named(booking_core::Actor::new("p").unwrap()),
        };
        let base = c.draft(c.dentist, c.madrid, booking_testkit::fixture::range((10, 0), (11, 0)));
        let mut r = Reservation { lines: vec![booking_core::ProductLine { product_id: c.kit, quantity: qty }], ..base };
        // Walk only along allowed transitions, as stores enforce.
        r.status = path[0];
        let mut net = stock::movements(None, &r).iter().map(|m| if m.take { -i64::from(m.quantity.get()) } else { i64::from(m.quantity.get()) }).sum::<i64>();
        for next in &path[1..] {
            if !booking_core::status_change_allowed(r.status, *next) { continue; }
            let after = Reservation { status: *next, ..r.clone() };
            net += stock::movements(Some(&r), &after).iter().map(|m| if m.take { -i64::from(m.quantity.get()) } else { i64::from(m.quantity.get()) }).sum::<i64>();
            r = after;
        }
        let expected = if r.status.holds_stock() { -i64::from(qty.get()) } else { 0 };
        prop_assert_eq!(net, expected);
    }
}

#[test]
fn money_cannot_be_built_negative() {
    assert!(Money::from_code(-1, "EUR").is_err());
}
