import { type Site, SternaError } from '@sterna/core';

/** One destination host of a plan. */
export interface PlanHost {
  /** Logged as `peer_address.name`. */
  readonly name: string;
  /** Addresses known at plan time (MX hosts, literals, `{ name, addr }` tables). */
  readonly addresses?: readonly string[] | undefined;
  /** A host name still to be resolved for A/AAAA at connect time (plain `mx_list` names). */
  readonly resolve?: string | undefined;
  /** A port written with the entry; the egress source's `remote_port` still wins. */
  readonly port?: number | undefined;
}

/** Hosts tried in order of groups; within a group the addresses are shuffled when `shuffle`. */
export interface PlanGroup {
  readonly hosts: readonly PlanHost[];
  /** True for an MX preference level (equal preferences are shuffled), false for mx_list order. */
  readonly shuffle: boolean;
}

/** The private part of an SMTP site: where to connect, in order. */
export interface SmtpPlan {
  readonly kind: 'mx' | 'mx_list' | 'literal';
  readonly groups: readonly PlanGroup[];
}

const PLANS = new WeakSet<object>();

/** Builds a frozen plan this driver will recognise in `connect`. */
export function makePlan(kind: SmtpPlan['kind'], groups: readonly PlanGroup[]): SmtpPlan {
  const plan = Object.freeze({ kind, groups: Object.freeze(groups.map((g) => Object.freeze(g))) });
  PLANS.add(plan);
  return plan;
}

/**
 * The plan of a site made by this driver's `site()`.
 *
 * @throws SternaError `STERNA_SMTP_SITE_INVALID` for any other site.
 */
export function planOf(site: Site): SmtpPlan {
  const plan = site.plan;
  if (typeof plan !== 'object' || plan === null || !PLANS.has(plan)) {
    throw new SternaError(
      'STERNA_SMTP_SITE_INVALID',
      `site '${site.name}' was not named by the smtp driver's site(); pass the site it returned`,
    );
  }
  return plan as SmtpPlan;
}
