//! Turning the registry and configuration into a calibrated model of each site.
//!
//! Calibration is what keeps a configurable model plausible: each bed pool's admissions that
//! do not come through the ED (GP referrals, planned care, step-up) are set so that its
//! expected occupancy over a year meets the target, given the ED admissions the site's
//! attendances produce and the expected length of each kind of stay. Walk-in arrivals are the
//! configured attendances less the 999 conveyances the ambulance model is expected to bring.

use surgecast_core::{AmbulanceCategory, BedType, SiteId, SiteKind, SiteRegistry};

use crate::SimError;
use crate::config::{BedGroupSpec, PatientClass, SimConfig, relative, shares};

/// Normalised profiles shared by every site.
#[derive(Debug, Clone)]
pub(crate) struct Profiles {
    /// Share of a day's ED arrivals in each UK local hour.
    pub ae_hour: [f64; 24],
    /// Day-of-week factors, mean 1, Monday first.
    pub ae_dow: [f64; 7],
    pub amb_dow: [f64; 7],
    pub category_share: [f64; 4],
    /// Share of a day's calls of each category in each hour.
    pub category_hour: [[f64; 24]; 4],
    /// Share of a day's conveyed arrivals at hospital in each hour (calls shifted by an hour).
    pub conveyed_arrival_hour: [f64; 24],
    /// Acuity mix of conveyed patients.
    pub conveyed_acuity: [f64; 5],
    /// Expected wait (days) from medically fit to the discharge slot.
    pub slot_wait_days: f64,
}

/// One bed pool's fixed parameters.
#[derive(Debug, Clone)]
pub(crate) struct PoolModel {
    pub bed_type: BedType,
    pub core: u32,
    pub groups: Vec<BedGroupSpec>,
    /// Direct (non-ED) admissions per day by class, annual mean.
    pub direct_per_day: Vec<(PatientClass, f64)>,
    pub electives_per_working_day: f64,
    /// All admissions per day by class (ED + direct + elective): the mix of a warm ward.
    pub admissions_per_day: Vec<(PatientClass, f64)>,
}

/// One site's fixed, calibrated parameters.
#[derive(Debug, Clone)]
pub(crate) struct SiteModel {
    pub code: SiteId,
    pub kind: SiteKind,
    pub ed_capacity: u32,
    pub lat: f64,
    pub lon: f64,
    pub partner: Option<usize>,
    pub daily_attendances: f64,
    pub ambulance_share: f64,
    pub acuity_mix: [f64; 5],
    /// Expected 999 conveyances a day (annual mean, no diverts).
    pub conveyed_per_day: f64,
    /// Share of incidents arising around this site.
    pub origin_share: f64,
    /// Multiplier on the ED admission probability from calibration (1 unless beds are short).
    pub admit_scale: f64,
    /// Multiplier on the share of admissions needing critical care (1 unless the site's
    /// critical care beds could not take them all).
    pub cc_scale: f64,
    pub pools: Vec<PoolModel>,
}

impl SiteModel {
    pub(crate) fn pool_of(&self, bed_type: BedType) -> Option<usize> {
        self.pools.iter().position(|p| p.bed_type == bed_type)
    }

    /// The pool a class of patient is admitted to at this site.
    pub(crate) fn pool_for(&self, class: PatientClass) -> Option<usize> {
        match class {
            PatientClass::CriticalCare => self.pool_of(BedType::CriticalCare),
            PatientClass::Paediatric => self.pool_of(BedType::Paediatric),
            PatientClass::ShortStay if self.kind == SiteKind::Type1Paediatric => {
                self.pool_of(BedType::Paediatric)
            }
            _ => self.pool_of(BedType::GeneralAcute),
        }
    }
}

/// Whether a class waits for a discharge slot and may be delayed for social care.
pub(crate) fn discharge_rule(class: PatientClass) -> (bool, bool) {
    match class {
        PatientClass::ShortStay | PatientClass::CriticalCare => (false, false),
        PatientClass::Paediatric | PatientClass::Elective => (true, false),
        PatientClass::Medical
        | PatientClass::Elderly
        | PatientClass::Surgical
        | PatientClass::Intermediate => (true, true),
    }
}

/// Expected bed-days of one stay of a class (clinical stay, delay, wait for the slot).
pub(crate) fn expected_stay_days(cfg: &SimConfig, profiles: &Profiles, class: PatientClass) -> f64 {
    let b = &cfg.beds;
    let (slot, delay) = discharge_rule(class);
    let mut days = b.los.get(class).mean_days;
    if delay {
        days += b.delayed_discharge_probability * b.delay.mean_days;
    }
    if slot {
        days += profiles.slot_wait_days;
    }
    days
}

/// Classes an admitted patient of an acuity is admitted as, with probabilities.
pub(crate) fn admission_classes(
    cfg: &SimConfig,
    kind: SiteKind,
    cc_scale: Option<f64>,
    acuity: usize,
) -> Vec<(PatientClass, f64)> {
    let f = &cfg.ed_flow;
    let cc = cc_scale.map_or(0.0, |k| (f.critical_care_share[acuity] * k).min(1.0));
    let rest = 1.0 - cc;
    let mut out = vec![(PatientClass::CriticalCare, cc)];
    if kind == SiteKind::Type1Paediatric {
        out.push((PatientClass::ShortStay, rest * f.short_stay_share));
        out.push((PatientClass::Paediatric, rest * (1.0 - f.short_stay_share)));
    } else {
        let long = rest * (1.0 - f.short_stay_share);
        let medical = long * (1.0 - f.surgical_share);
        out.push((PatientClass::ShortStay, rest * f.short_stay_share));
        out.push((PatientClass::Surgical, long * f.surgical_share));
        out.push((PatientClass::Elderly, medical * f.elderly_share));
        out.push((PatientClass::Medical, medical * (1.0 - f.elderly_share)));
    }
    out
}

/// Expected wait (days) from medically fit to discharge under the slot rule, averaged over
/// fit times spread evenly over an ordinary week. Mirrors `Simulator::discharge_time`.
fn expected_slot_wait_days(cfg: &SimConfig) -> f64 {
    let b = &cfg.beds;
    let w = &b.discharge_hour_of_day;
    let mut total = 0.0;
    let mut n = 0.0;
    for weekday in 0..7usize {
        for quarter in 0..96 {
            let ready_h = f64::from(quarter) / 4.0;
            let ready_hour = quarter / 4;
            let mut expect = 0.0;
            let mut survive = 1.0;
            let mut first = ready_hour < b.same_day_cutoff_hour;
            let mut offset_days = if first { 0.0 } else { 1.0 };
            for _ in 0..28 {
                let dow = (weekday + offset_days as usize) % 7;
                let lo = if first { ready_hour as usize + 1 } else { 0 };
                let weight: f64 = w[lo.min(24)..].iter().sum();
                let p = if weight > 0.0 {
                    b.discharge_day_probability[dow]
                } else {
                    0.0
                };
                if p > 0.0 {
                    let mean_h: f64 =
                        (lo..24).map(|h| w[h] * (h as f64 + 0.5)).sum::<f64>() / weight;
                    expect += survive * p * (offset_days * 24.0 + mean_h - ready_h);
                }
                survive *= 1.0 - p;
                offset_days += 1.0;
                first = false;
            }
            // The few who never hit a slot in four weeks leave a day after being fit.
            expect += survive * 24.0;
            total += expect / 24.0;
            n += 1.0;
        }
    }
    total / n
}

/// A deterministic spread of points around an origin matching the incident scatter (two
/// independent normals of `spread_km`): rings at Rayleigh quantiles, evenly spaced angles.
fn scatter_grid(spread_km: f64) -> Vec<(f64, f64)> {
    const RINGS: usize = 16;
    const ANGLES: usize = 24;
    let mut out = Vec::with_capacity(RINGS * ANGLES);
    for r in 0..RINGS {
        let u = (r as f64 + 0.5) / RINGS as f64;
        let radius = spread_km * (-2.0 * (1.0 - u).ln()).sqrt();
        for a in 0..ANGLES {
            let theta = (a as f64 + 0.5 * (r % 2) as f64) / ANGLES as f64 * std::f64::consts::TAU;
            out.push((radius * theta.cos(), radius * theta.sin()))
        }
    }
    out
}

/// Moves a point by (east, north) kilometres.
pub(crate) fn offset_km(lat: f64, lon: f64, east: f64, north: f64) -> (f64, f64) {
    let lat2 = lat + north / 111.32;
    let lon2 = lon + east / (111.32 * lat.to_radians().cos());
    (lat2, lon2)
}

/// Index of the site in `candidates` nearest the point.
pub(crate) fn nearest(
    sites: &[SiteModel],
    candidates: &[usize],
    lat: f64,
    lon: f64,
) -> Option<usize> {
    candidates.iter().copied().min_by(|&a, &b| {
        let da = surgecast_core::haversine_km(sites[a].lat, sites[a].lon, lat, lon);
        let db = surgecast_core::haversine_km(sites[b].lat, sites[b].lon, lat, lon);
        da.total_cmp(&db)
    })
}

/// Splits `total` beds over groups in proportion to their shares (largest remainder).
pub(crate) fn split_beds(total: u32, groups: &[BedGroupSpec]) -> Vec<u32> {
    let sum: f64 = groups.iter().map(|g| g.share).sum();
    let exact: Vec<f64> = groups
        .iter()
        .map(|g| f64::from(total) * g.share / sum)
        .collect();
    let mut out: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
    let mut left = total - out.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for i in order {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

pub(crate) fn build_sites(
    registry: &SiteRegistry,
    cfg: &SimConfig,
) -> Result<(Vec<SiteModel>, Profiles), SimError> {
    let a = &cfg.ambulance;
    let category_share = shares(&a.category_share);
    let mut category_hour = [[0.0; 24]; 4];
    for (i, c) in AmbulanceCategory::ALL.into_iter().enumerate() {
        category_hour[i] = shares(a.hour_of_day.get(c));
    }
    let conveyance: f64 = (0..4).map(|i| category_share[i] * a.conveyance[i]).sum();
    let mut conveyed_arrival_hour = [0.0; 24];
    let mut conveyed_acuity = [0.0; 5];
    for i in 0..4 {
        let w = category_share[i] * a.conveyance[i];
        for h in 0..24 {
            // Call to arrival at hospital is about an hour.
            conveyed_arrival_hour[(h + 1) % 24] += w * category_hour[i][h];
        }
        let mix = shares(a.acuity_by_category.get(AmbulanceCategory::ALL[i]));
        for (acc, m) in conveyed_acuity.iter_mut().zip(mix) {
            *acc += w * m;
        }
    }
    let conveyed_arrival_hour = shares(&conveyed_arrival_hour);
    let conveyed_acuity = shares(&conveyed_acuity);
    let mut profiles = Profiles {
        ae_hour: shares(&cfg.ae.hour_of_day),
        ae_dow: relative(&cfg.ae.day_of_week),
        amb_dow: relative(&a.day_of_week),
        category_share,
        category_hour,
        conveyed_arrival_hour,
        conveyed_acuity,
        slot_wait_days: 0.0,
    };
    profiles.slot_wait_days = expected_slot_wait_days(cfg);

    let mut sites: Vec<SiteModel> = registry
        .sites()
        .iter()
        .map(|s| {
            let daily = cfg
                .ae
                .daily_attendances
                .get(&s.code)
                .copied()
                .unwrap_or(*cfg.ae.default_daily_attendances.get(s.kind));
            SiteModel {
                code: s.code.clone(),
                kind: s.kind,
                ed_capacity: s.ed_capacity.max(1),
                lat: s.latitude,
                lon: s.longitude,
                partner: s.divert_partner.as_ref().and_then(|p| registry.index_of(p)),
                daily_attendances: daily,
                ambulance_share: *cfg.ae.ambulance_share.get(s.kind),
                acuity_mix: shares(cfg.ae.acuity_mix.get(s.kind)),
                conveyed_per_day: 0.0,
                origin_share: 0.0,
                admit_scale: 1.0,
                cc_scale: 1.0,
                pools: Vec::new(),
            }
        })
        .collect();

    // Where incidents arise and where their patients are conveyed.
    let adult: Vec<usize> = (0..sites.len())
        .filter(|&i| sites[i].kind == SiteKind::Type1)
        .collect();
    let paediatric: Vec<usize> = (0..sites.len())
        .filter(|&i| sites[i].kind == SiteKind::Type1Paediatric)
        .collect();
    let weight = |i: usize| {
        a.origin_weights
            .get(&sites[i].code)
            .copied()
            .unwrap_or(sites[i].daily_attendances)
    };
    let total_weight: f64 = adult.iter().map(|&i| weight(i)).sum();
    if total_weight > 0.0 {
        let shares_by_site: Vec<(usize, f64)> = adult
            .iter()
            .map(|&i| (i, weight(i) / total_weight))
            .collect();
        for (i, share) in &shares_by_site {
            sites[*i].origin_share = *share;
        }
        let grid = scatter_grid(a.catchment_spread_km);
        let per_point = 1.0 / grid.len() as f64;
        let mut conveyed = vec![0.0; sites.len()];
        for (origin, share) in shares_by_site {
            for (east, north) in &grid {
                let (lat, lon) = offset_km(sites[origin].lat, sites[origin].lon, *east, *north);
                let w = a.incidents_per_day * share * per_point * conveyance;
                if let Some(n) = nearest(&sites, &adult, lat, lon) {
                    conveyed[n] += w * (1.0 - a.paediatric_share);
                }
                let child_dest = nearest(&sites, &paediatric, lat, lon)
                    .or_else(|| nearest(&sites, &adult, lat, lon));
                if let Some(p) = child_dest {
                    conveyed[p] += w * a.paediatric_share;
                }
            }
        }
        for (s, c) in sites.iter_mut().zip(conveyed) {
            s.conveyed_per_day = c;
        }
    }

    for s in &mut sites {
        calibrate_site(s, registry, cfg, &profiles);
    }
    Ok((sites, profiles))
}

/// Expected daily ED admissions by class (before the admit scale) at a site.
fn expected_ed_admissions(
    s: &SiteModel,
    cfg: &SimConfig,
    profiles: &Profiles,
) -> Vec<(PatientClass, f64)> {
    let cc = s.pool_of(BedType::CriticalCare).map(|_| s.cc_scale);
    let mut out: Vec<(PatientClass, f64)> = Vec::new();
    if !s.kind.is_type1() {
        return out;
    }
    let f = &cfg.ed_flow;
    let total = s.daily_attendances;
    let conveyed = s.conveyed_per_day;
    let other_amb = (s.ambulance_share * total - conveyed).max(0.0);
    let walk_in = (total - conveyed - other_amb).max(0.1 * total);
    let other_mix = shares(&cfg.ae.other_ambulance_acuity_mix);
    let streams = [
        (walk_in, s.acuity_mix, 1.0),
        (other_amb, other_mix, f.ambulance_admit_factor),
        (conveyed, profiles.conveyed_acuity, f.ambulance_admit_factor),
    ];
    for (rate, mix, factor) in streams {
        for (acuity, share) in mix.iter().enumerate() {
            let admitted =
                rate * share * (f.admit_probability[acuity] * factor).min(1.0) * s.admit_scale;
            for (class, p) in admission_classes(cfg, s.kind, cc, acuity) {
                match out.iter_mut().find(|(c, _)| *c == class) {
                    Some((_, v)) => *v += admitted * p,
                    None => out.push((class, admitted * p)),
                }
            }
        }
    }
    out
}

fn calibrate_site(
    s: &mut SiteModel,
    registry: &SiteRegistry,
    cfg: &SimConfig,
    profiles: &Profiles,
) {
    let site = registry.get(&s.code).expect("site from this registry");
    let b = &cfg.beds;
    let groups = &b.groups;
    let mut pools = Vec::new();
    if site.ga_beds > 0 {
        let templates = if s.kind.is_type1() {
            &groups.general_acute
        } else {
            &groups.community_general_acute
        };
        pools.push((BedType::GeneralAcute, site.ga_beds, templates.clone()));
    }
    if site.cc_beds > 0 {
        pools.push((
            BedType::CriticalCare,
            site.cc_beds,
            groups.critical_care.clone(),
        ));
    }
    if site.paediatric_beds > 0 {
        pools.push((
            BedType::Paediatric,
            site.paediatric_beds,
            groups.paediatric.clone(),
        ));
    }
    s.pools = pools
        .into_iter()
        .map(|(bed_type, core, groups)| PoolModel {
            bed_type,
            core,
            groups,
            direct_per_day: Vec::new(),
            electives_per_working_day: 0.0,
            admissions_per_day: Vec::new(),
        })
        .collect();
    let stay = |c: PatientClass| expected_stay_days(cfg, profiles, c);
    let target_of =
        |p: &PoolModel| f64::from(p.core) * b.target_occupancy_pct.get(p.bed_type) / 100.0;
    // ED bed-days a site's ED sends into one pool (with the current scales).
    let ed_days_into = |s: &SiteModel, pool: usize| -> f64 {
        expected_ed_admissions(s, cfg, profiles)
            .iter()
            .filter(|(c, _)| s.pool_for(*c) == Some(pool))
            .map(|(c, r)| r * stay(*c))
            .sum()
    };
    // The main pool (G&A at an adult ED, paediatric at a children's ED) sets the admit scale;
    // critical care takes at most its room, the rest of those patients go to the main pool.
    // The two scales depend on each other a little: settle them in a few rounds.
    let main = if s.kind == SiteKind::Type1Paediatric {
        s.pool_of(BedType::Paediatric)
    } else {
        s.pool_of(BedType::GeneralAcute)
    };
    if s.kind.is_type1() {
        for _ in 0..4 {
            if let Some(cc) = s.pool_of(BedType::CriticalCare) {
                s.cc_scale = 1.0;
                let days = ed_days_into(s, cc);
                let room = (1.0 - b.min_direct_share) * target_of(&s.pools[cc]);
                if days > room {
                    s.cc_scale = room / days;
                }
            }
            if let Some(main) = main {
                let p = &s.pools[main];
                let elective = if p.bed_type == BedType::GeneralAcute {
                    b.elective_bed_share * target_of(p)
                } else {
                    0.0
                };
                let room = (1.0 - b.min_direct_share) * (target_of(p) - elective);
                let current = s.admit_scale;
                let days = ed_days_into(s, main) / current;
                s.admit_scale = if days > room { room / days } else { 1.0 };
            }
        }
    }
    let ed = expected_ed_admissions(s, cfg, profiles);
    let ed_into = |s: &SiteModel, pool: usize| -> Vec<(PatientClass, f64)> {
        ed.iter()
            .filter(|(c, _)| s.pool_for(*c) == Some(pool))
            .copied()
            .collect()
    };

    for pool in 0..s.pools.len() {
        let ed_here = ed_into(s, pool);
        let p = &s.pools[pool];
        let target = target_of(p);
        let takes_electives = p.bed_type == BedType::GeneralAcute && s.kind.is_type1();
        let elective_days = if takes_electives {
            b.elective_bed_share * target
        } else {
            0.0
        };
        let ed_days: f64 = ed_here.iter().map(|(c, r)| r * stay(*c)).sum();
        let remaining = (target - elective_days - ed_days).max(0.0);
        let mix: Vec<(PatientClass, f64)> = match p.bed_type {
            BedType::CriticalCare => vec![(PatientClass::CriticalCare, 1.0)],
            BedType::Paediatric => vec![
                (PatientClass::ShortStay, cfg.ed_flow.short_stay_share),
                (PatientClass::Paediatric, 1.0 - cfg.ed_flow.short_stay_share),
            ],
            BedType::GeneralAcute if !s.kind.is_type1() => {
                vec![(PatientClass::Intermediate, 1.0)]
            }
            BedType::GeneralAcute => admission_classes(cfg, SiteKind::Type1, None, 2)
                .into_iter()
                .filter(|(_, p)| *p > 0.0)
                .collect(),
        };
        let mix_total: f64 = mix.iter().map(|(_, w)| w).sum();
        let days_per_direct: f64 = mix.iter().map(|(c, w)| w / mix_total * stay(*c)).sum();
        let direct_total = if days_per_direct > 0.0 {
            remaining / days_per_direct
        } else {
            0.0
        };
        let direct: Vec<(PatientClass, f64)> = mix
            .iter()
            .map(|(c, w)| (*c, direct_total * w / mix_total))
            .collect();
        let electives_per_day = if takes_electives {
            elective_days / stay(PatientClass::Elective)
        } else {
            0.0
        };
        let mut all = ed_here.clone();
        for (c, r) in &direct {
            match all.iter_mut().find(|(k, _)| k == c) {
                Some((_, v)) => *v += r,
                None => all.push((*c, *r)),
            }
        }
        if electives_per_day > 0.0 {
            all.push((PatientClass::Elective, electives_per_day));
        }
        let p = &mut s.pools[pool];
        p.direct_per_day = direct;
        p.electives_per_working_day = electives_per_day * 7.0 / 5.0;
        p.admissions_per_day = all;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gm() -> SiteRegistry {
        SiteRegistry::from_toml_str(include_str!(
            "../../../../models/sites/greater-manchester.toml"
        ))
        .unwrap()
    }

    #[test]
    fn slot_wait_is_under_a_day() {
        let w = expected_slot_wait_days(&SimConfig::default());
        assert!((0.2..1.0).contains(&w), "{w}");
    }

    #[test]
    fn bed_split_adds_up() {
        let g = crate::config::BedGroupTemplates::default().general_acute;
        for total in [0, 1, 7, 350, 761] {
            assert_eq!(split_beds(total, &g).iter().sum::<u32>(), total);
        }
    }

    #[test]
    fn calibration_fills_the_target() {
        let cfg = SimConfig::default();
        let (sites, profiles) = build_sites(&gm(), &cfg).unwrap();
        for s in &sites {
            for p in &s.pools {
                let days: f64 = p
                    .admissions_per_day
                    .iter()
                    .map(|(c, r)| r * expected_stay_days(&cfg, &profiles, *c))
                    .sum();
                let target =
                    f64::from(p.core) * cfg.beds.target_occupancy_pct.get(p.bed_type) / 100.0;
                assert!(
                    (days - target).abs() / target < 0.02,
                    "{} {:?}: {days} vs {target}",
                    s.code,
                    p.bed_type
                );
            }
        }
        // Conveyances go only to type-1 EDs and add up to the incidents conveyed.
        let total: f64 = sites.iter().map(|s| s.conveyed_per_day).sum();
        let a = &cfg.ambulance;
        let conveyance: f64 = (0..4).map(|i| a.category_share[i] * a.conveyance[i]).sum();
        assert!(
            (total - 1000.0 * conveyance).abs() < 1.0,
            "{total} {}",
            profiles.slot_wait_days
        );
        for s in sites.iter().filter(|s| !s.kind.is_type1()) {
            assert_eq!(s.conveyed_per_day, 0.0);
        }
    }
}
