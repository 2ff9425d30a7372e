import type { SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import type { Calendar } from './calendar.js';
import {
  ADD_ONS,
  AM_OWNERS,
  API_PRICE_PER_THOUSAND,
  API_PRODUCT,
  CHANNELS,
  CSM_OWNERS,
  DEAL_SOURCES,
  FUNDING_ROUNDS,
  INDUSTRIES,
  PLATFORM,
  REGIONS,
  SEGMENTS,
  companyName,
  personName,
  type SegmentSpec,
} from './demo-catalog.js';
import { Random, clamp } from './random.js';

/**
 * One account's life, month by month, written as rows of the data contract's files.
 *
 * The causes planted here (a model of signals should find them, imperfectly):
 * - **Churn and contraction** are decided two to four months (60–120 days) before they happen. The
 *   decision weighs the account's engagement, a departed executive sponsor, recent escalations,
 *   activation missed in the first 90 days and a poor ICP fit. Once churn is decided, three in four
 *   accounts show it: usage and logins fall, QBRs are skipped, the sponsor may leave, tickets escalate.
 *   The other quarter churn without warning (budget cuts, acquisitions), and healthy accounts have dips
 *   of their own, so no signal is perfect.
 * - **Contraction at renewal** follows low seat utilisation: seats are cut to what is used.
 * - **Expansion** follows seat utilisation above 80 %, which headcount growth and funding rounds drive;
 *   cross-sell follows users trying the features of a product the account does not own yet.
 */
export type DemoFile = Exclude<SourceName, 'fx_rates'> | SignalSourceName;

/** CSV lines (without the newline) per file. */
export type DemoRows = Record<DemoFile, string[]>;

export interface SimulationContext {
  readonly seed: number;
  readonly cal: Calendar;
  /** Cumulative weights of signup months, first month to last. */
  readonly signupCdf: readonly number[];
  /** Units of a currency per USD in a month. */
  perUsd(currency: string, month: number): number;
}

interface Line {
  readonly product: string;
  readonly start: number;
  end: number | null;
  readonly amount: number;
  readonly interval: 'month' | 'year';
  readonly discount: number;
}

interface Contact {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly start: number;
  end: number | null;
}

const money = (x: number): string => x.toFixed(2);
const text = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The account's id: stable, sortable, and unique per index. */
export const accountId = (index: number): string => `A${String(index + 1).padStart(7, '0')}`;

/** Simulates account number `index` and appends its rows to `out`. */
export function simulateAccount(ctx: SimulationContext, index: number, out: DemoRows): void {
  const r = new Random(ctx.seed, index + 1);
  const cal = ctx.cal;
  const id = accountId(index);
  const seg: SegmentSpec = r.weighted(SEGMENTS.map((s) => [s, s.share] as const));
  const selfServe = seg.name === 'self-serve';

  // Signup and firmographics
  const signupMonth = cal.firstMonth + searchCdf(ctx.signupCdf, r.uniform());
  const signupDay = cal.monthStart(signupMonth) + r.int(0, cal.daysIn(signupMonth) - 1);
  const region = r.weighted(REGIONS.map((x) => [x, x.weight] as const));
  const [country, currency] = r.pick(region.countries);
  const perUsd = (m: number): number => ctx.perUsd(currency, m);
  const seatPrice = Math.max(1, Math.round(seg.seatPrice * perUsd(signupMonth) * r.between(0.92, 1.08)));
  const icp = Math.round(clamp(r.normal(64, 18), 5, 100));
  const activationMissed = r.chance(seg.activationMiss * (icp < 45 ? 1.6 : icp > 80 ? 0.6 : 1));
  const baseEngagement = clamp(0.42 + 0.0045 * icp - (activationMissed ? 0.2 : 0) + r.normal(0, 0.08), 0.08, 0.97);
  let engagement = baseEngagement;
  let headcount = Math.max(3, Math.round(r.logNormal(seg.headcount, 0.6)));
  const growth = r.normal(seg.headcountGrowth[0], seg.headcountGrowth[1]);
  let fundingBoostUntil = -1;
  let fundingStage = r.int(0, 2);
  const [median, sigma, minSeats, maxSeats] = seg.seats;
  let seats = Math.round(clamp(r.logNormal(median, sigma), minSeats, maxSeats));
  let demand = seats * r.between(0.72, 0.95);
  const termKind = r.weighted(seg.terms);
  const termMonths = termKind === 'monthly' ? 1 : termKind === 'annual' ? 12 : r.pick([24, 36]);
  const csm = r.pick(CSM_OWNERS[seg.name]);
  const am = r.pick(AM_OWNERS[seg.name]);
  const channel = r.weighted(CHANNELS[seg.name]);
  const dealSource = r.weighted(DEAL_SOURCES[seg.name]);
  const industry = r.pick(INDUSTRIES);
  const name = companyName(index);
  out.accounts.push(
    `${id},${text(name)},${seg.name},${industry},${region.name},${country},${channel},${dealSource},${icp},${text(csm)},${text(am)},${cal.date(signupDay)}`,
  );

  const lines: Line[] = [];
  const owned = new Set<string>([PLATFORM]);
  if (seg.name === 'enterprise' && r.chance(0.3)) owned.add(ADD_ONS[0].name);
  const addOnShare = (p: string): number => ADD_ONS.find((a) => a.name === p)?.seatShare ?? 1;
  /** List price per month of a product for a seat count. */
  const monthly = (product: string, n: number, uplift: number): number => n * seatPrice * addOnShare(product) * uplift;
  let uplift = 1;

  // Counters for ids
  let nLine = 0;
  let nMeeting = 0;
  let nTicket = 0;
  let nOpp = 0;
  let nContact = 0;
  const lineRows = (): void => {
    for (const l of lines) {
      nLine++;
      out.subscriptions.push(
        `${id},${id}-L${nLine},${l.product},${cal.date(l.start)},${l.end === null ? '' : cal.date(l.end)},${money(l.amount)},${l.interval},${l.discount > 0 ? money(l.discount) : ''},${currency}`,
      );
    }
  };
  const opportunity = (type: string, source: string, amount: number, stage: string, created: number, close: number): void => {
    nOpp++;
    out.opportunities.push(`${id}-O${nOpp},${id},${type},${source},${money(amount)},${currency},${stage},${cal.date(created)},${cal.date(close)}`);
  };

  // Contract state
  const endDay = cal.monthStart(cal.lastMonth + 1); // the first day after the data
  let active = true;
  let termStart = signupDay;
  let termEnd = termKind === 'monthly' ? -1 : cal.addMonths(signupDay, termMonths);
  let firstTerm = true;
  const discountShare = r.chance(seg.discount[1]) ? seg.discount[0] : 0;
  const promoMonths = termKind === 'monthly' && discountShare > 0 ? r.pick([3, 6]) : 0;
  /** Open monthly lines by product (monthly contracts change by closing one line and opening another). */
  const openLine = new Map<string, Line>();

  const startTerm = (day: number): void => {
    termStart = day;
    if (termKind === 'monthly') {
      for (const p of owned) {
        const l: Line = { product: p, start: day, end: null, amount: monthly(p, seats, uplift), interval: 'month', discount: 0 };
        if (firstTerm && promoMonths > 0 && p === PLATFORM) (l as { discount: number }).discount = round2(l.amount * discountShare);
        lines.push(l);
        openLine.set(p, l);
      }
    } else {
      termEnd = cal.addMonths(day, termMonths);
      for (const p of owned) {
        const amount = monthly(p, seats, uplift) * 12;
        lines.push({ product: p, start: day, end: termEnd, amount, interval: 'year', discount: firstTerm ? round2(amount * discountShare) : 0 });
      }
    }
  };
  /** A change in what a monthly contract buys, from `day`. */
  const rewriteMonthly = (product: string, when: number, n: number | null): void => {
    const old = openLine.get(product);
    // Never before the line it replaces began (a change in the same month it started).
    const day = old ? Math.max(when, old.start) : when;
    if (old) {
      if (old.start === day) lines.splice(lines.indexOf(old), 1);
      else old.end = day;
      openLine.delete(product);
    }
    if (n !== null) {
      const l: Line = { product, start: day, end: null, amount: monthly(product, n, uplift), interval: 'month', discount: 0 };
      lines.push(l);
      openLine.set(product, l);
    }
  };
  startTerm(signupDay);
  const acv = (): number => {
    let m = 0;
    for (const p of owned) m += monthly(p, seats, uplift);
    return m * 12;
  };
  if (!selfServe) {
    opportunity('new', dealSource === 'marketing' ? 'marketing' : dealSource, acv() * (1 - discountShare), 'won', signupDay - r.int(20, 120), signupDay);
  }

  // People
  const contacts: Contact[] = [];
  const addContact = (role: string, start: number): Contact => {
    nContact++;
    const c: Contact = { id: `${id}-P${nContact}`, name: personName((n) => r.int(0, n - 1)), role, start, end: null };
    contacts.push(c);
    return c;
  };
  let sponsor: Contact | null = !selfServe && r.chance(seg.name === 'smb' ? 0.6 : 0.92) ? addContact('executive_sponsor', signupDay) : null;
  let sponsorLeftMonth = -100;
  let sponsorReturnMonth = -1;
  addContact('champion', signupDay);
  if (!selfServe) addContact('admin', signupDay + r.int(0, 20));
  for (let i = r.int(1, 3); i > 0; i--) addContact('user', signupDay + r.int(0, 60));

  // Onboarding milestones: due at 7, 30, 60 and 90 days
  const milestone = (name: string, due: number, achieved: number | null): void => {
    const done = achieved !== null && achieved < endDay ? cal.date(achieved) : '';
    if (signupDay + due - 7 < endDay) out.onboarding.push(`${id},${name},${cal.date(signupDay + due)},${done}`);
  };
  milestone('kickoff', 7, signupDay + r.int(1, 10));
  milestone('integration', 30, signupDay + r.int(12, activationMissed ? 70 : 40));
  milestone('first_value', 60, activationMissed ? (r.chance(0.5) ? signupDay + r.int(70, 160) : null) : signupDay + r.int(30, 66));
  milestone('activation', 90, activationMissed ? (r.chance(0.35) ? signupDay + r.int(100, 220) : null) : signupDay + r.int(45, 92));

  // Usage-billed API
  const apiFrom = r.chance(seg.apiAdoption) ? signupMonth + r.int(1, 15) : Number.MAX_SAFE_INTEGER;
  let apiCalls = Math.pow(seats, 0.6) * r.logNormal(12000, 0.5);
  const apiPrice = API_PRICE_PER_THOUSAND * perUsd(signupMonth);

  // Fate
  let decisionMonth = termKind === 'monthly' ? -1 : cal.monthOf(termEnd) - r.int(2, 4);
  let churnAt = -1; // month of a decided churn
  let declining = false;
  let dipUntil = -1;
  let pull = 1;
  let adjacent = r.between(0, 0.2);
  let escalations: number[] = [];
  let churnedMonth = -1;
  let returnMonth = -1;
  let reactivations = 0;

  const risk = (m: number): number =>
    Math.exp(2.2 * (0.6 - engagement)) *
    (m - sponsorLeftMonth <= 6 ? 1.9 : 1) *
    (escalations.some((x) => m - x <= 3) ? 1.6 : 1) *
    (activationMissed ? 1.8 : 1) *
    (icp < 40 ? 1.3 : 1) *
    0.55;

  const churnNow = (m: number): void => {
    const day = cal.monthStart(m) + r.int(0, cal.daysIn(m) - 1);
    for (const p of [...openLine.keys()]) rewriteMonthly(p, day, null);
    active = false;
    churnedMonth = m;
    declining = false;
    if (r.chance(selfServe || seg.name === 'smb' ? 0.16 : 0.08) && reactivations < 2) returnMonth = m + r.int(3, 14);
  };

  for (let m = signupMonth; m <= cal.lastMonth; m++) {
    const weeks = cal.weeksOf(m);

    // Company growth (exogenous): headcount and funding
    if (r.chance(headcount < 500 ? 0.012 : 0.006)) {
      fundingStage = Math.min(fundingStage + 1, FUNDING_ROUNDS.length - 1);
      fundingBoostUntil = m + 12;
      const day = cal.monthStart(m) + r.int(1, cal.daysIn(m) - 1); // the 1st holds the quarterly headcount
      const amount = Math.round(r.logNormal(2e6 * 2.2 ** fundingStage, 0.4) / 1000) * 1000;
      headcount = Math.round(headcount * r.between(1.02, 1.08));
      out.enrichment.push(`${id},${cal.date(day)},${headcount},${FUNDING_ROUNDS[fundingStage]},${amount}`);
    }
    const g = growth + (m <= fundingBoostUntil ? 0.3 : 0);
    const factor = Math.pow(1 + g, 1 / 12) * Math.exp(r.normal(0, 0.01));
    headcount = Math.max(3, headcount * factor);
    if ((m - signupMonth) % 3 === 0) out.enrichment.push(`${id},${cal.date(cal.monthStart(m))},${Math.round(headcount)},,`);

    if (!active) {
      if (m === returnMonth) {
        reactivations++;
        active = true;
        firstTerm = false;
        engagement = baseEngagement;
        seats = Math.max(minSeats, Math.ceil(seats * r.between(0.5, 0.9)));
        demand = seats * r.between(0.75, 0.95);
        owned.clear();
        owned.add(PLATFORM);
        const day = cal.monthStart(m) + r.int(0, cal.daysIn(m) - 1);
        startTerm(day);
        if (termKind !== 'monthly') decisionMonth = cal.monthOf(termEnd) - r.int(2, 4);
        churnAt = -1;
        if (!selfServe) opportunity('new', 'sales', acv(), 'won', day - r.int(20, 90), day);
      } else {
        continue;
      }
    }

    // Engagement: mean-reverting, pulled down by a decided churn and by dips of healthy accounts
    if (!declining && m > dipUntil && r.chance(0.025)) dipUntil = m + r.int(1, 3);
    const target = declining ? baseEngagement * 0.35 : m <= dipUntil ? baseEngagement * 0.6 : baseEngagement;
    engagement = clamp(engagement + 0.35 * (target - engagement) + r.normal(0, 0.04), 0.03, 1);
    demand *= factor;
    // Users stop logging in once the account has decided to leave (and, for a while, in a dip).
    pull = declining ? pull * r.between(0.7, 0.85) : m <= dipUntil ? pull * r.between(0.8, 0.9) : Math.min(1, pull + 0.25);
    const activeUsers = Math.max(0, Math.min(seats, Math.round(demand * (0.55 + 0.45 * engagement) * pull * r.between(0.95, 1.05))));
    const utilisation = activeUsers / seats;
    const day = (): number => cal.monthStart(m) + r.int(0, cal.daysIn(m) - 1);

    // Sponsor: leaves now and then, far more often once churn is decided; a successor may follow
    if (sponsor && r.chance(declining ? 0.12 : 0.012)) {
      sponsor.end = Math.max(day(), sponsor.start + 1);
      sponsor = null;
      sponsorLeftMonth = m;
      sponsorReturnMonth = r.chance(declining ? 0.2 : 0.6) ? m + r.int(1, 4) : -1;
    }
    if (!sponsor && m === sponsorReturnMonth) sponsor = addContact('executive_sponsor', day());
    if (contacts.length < 12 && r.chance(0.01)) {
      const champ = contacts.find((c) => c.role === 'champion' && c.end === null);
      if (champ) {
        champ.end = Math.max(day(), champ.start + 1);
        addContact('champion', champ.end + r.int(10, 60));
      }
    }

    // Support tickets
    const ticketMean = Math.min(12, (seats / 100) * seg.ticketRate * (1 + 1.5 * (1 - engagement)) + 0.08);
    for (let t = r.poisson(ticketMean); t > 0; t--) {
      nTicket++;
      const opened = day();
      const priority = r.weighted([['low', 0.3], ['normal', 0.45], ['high', 0.18], ['urgent', 0.07]] as const);
      const escalated = r.chance(0.05 + (declining ? 0.3 : 0) + (engagement < 0.35 ? 0.08 : 0) + (priority === 'urgent' ? 0.2 : 0));
      if (escalated) escalations.push(m);
      const closed = opened + Math.ceil(r.logNormal(priority === 'low' ? 6 : 3, 0.8));
      out.tickets.push(`${id}-T${nTicket},${id},${cal.date(opened)},${closed < endDay ? cal.date(closed) : ''},${priority},${escalated}`);
    }
    if (escalations.length > 6) escalations = escalations.slice(-6);

    // Meetings: quarterly business reviews, yearly executive reviews
    const age = m - signupMonth;
    const meeting = (type: string, pHeld: number): void => {
      nMeeting++;
      const status = r.chance(clamp(pHeld, 0.02, 0.98)) ? 'held' : r.chance(0.7) ? 'skipped' : 'cancelled';
      out.meetings.push(`${id}-M${nMeeting},${id},${type},${cal.date(day())},${status}`);
    };
    if (age === 0 && !selfServe) meeting('kickoff', 0.97);
    if (seg.qbr && age > 0 && age % 3 === 0) meeting('qbr', 0.2 + 0.75 * engagement - (declining ? 0.35 : 0));
    if (seg.ebr && age > 0 && age % 12 === 6) meeting('ebr', 0.3 + 0.6 * engagement - (declining ? 0.4 : 0) - (sponsor ? 0 : 0.3));
    if (m === cal.lastMonth && seg.qbr && active) {
      nMeeting++;
      out.meetings.push(`${id}-M${nMeeting},${id},qbr,${cal.date(endDay + r.int(5, 80))},scheduled`);
    }

    // Expansion: seats follow utilisation above 80 %; cross-sell follows adjacent feature use
    adjacent = clamp(adjacent + 0.02 + 0.06 * (engagement - 0.5) + r.normal(0, 0.03), 0, 1);
    if (!declining && utilisation > 0.8 && r.chance(selfServe ? 0.6 : 0.4)) {
      const add = Math.max(1, Math.ceil(activeUsers / r.between(0.62, 0.75)) - seats);
      const when = Math.max(day(), termStart);
      if (termKind === 'monthly') {
        seats += add;
        rewriteMonthly(PLATFORM, when, seats);
      } else if (when < termEnd) {
        lines.push({ product: PLATFORM, start: when, end: termEnd, amount: monthly(PLATFORM, add, uplift) * 12, interval: 'year', discount: 0 });
        seats += add;
      }
      if (!selfServe) opportunity('expansion', r.chance(0.55) ? 'cs' : 'sales', monthly(PLATFORM, add, uplift) * 12, 'won', when - r.int(15, 75), when);
    }
    const next = ADD_ONS.find((a) => !owned.has(a.name));
    if (next && !declining && adjacent > 0.55 && r.chance(seg.crossSell * 3)) {
      const when = Math.max(day(), termStart);
      if (termKind === 'monthly' || when < termEnd) {
        owned.add(next.name);
        if (termKind === 'monthly') rewriteMonthly(next.name, when, seats);
        else lines.push({ product: next.name, start: when, end: termEnd, amount: monthly(next.name, seats, uplift) * 12, interval: 'year', discount: 0 });
        adjacent = r.between(0, 0.15);
        if (!selfServe) opportunity('expansion', r.chance(0.6) ? 'cs' : 'sales', monthly(next.name, seats, uplift) * 12, 'won', when - r.int(20, 80), when);
      }
    }
    if (!selfServe && seg.name !== 'smb' && r.chance(0.012)) {
      const when = day();
      opportunity('expansion', r.chance(0.5) ? 'cs' : 'sales', monthly(PLATFORM, Math.ceil(seats * 0.2), uplift) * 12, 'lost', when - r.int(30, 90), when);
    }

    // Usage-billed API: calls grow with engagement. A charge's month is the month the calls were
    // made, and only months with a contract line in force at their end are billed: the use in the
    // month a contract ends is waived, so no charge outlives the contract (docs/demo-company.md).
    let callsThisMonth = 0;
    if (m >= apiFrom) {
      apiCalls *= Math.exp(0.013 + 0.03 * (engagement - 0.5) + r.normal(0, 0.035));
      callsThisMonth = Math.round(apiCalls);
      const amount = (callsThisMonth / 1000) * apiPrice;
      if (amount >= 0.01 && m !== churnAt) out.usage.push(`${id},${API_PRODUCT},${cal.month(m)},${money(amount)},${currency}`);
    }

    // Signals of the month
    for (const w of weeks) {
      const users = Math.round(activeUsers * r.between(0.72, 0.95));
      const events = Math.round(users * (4 + 14 * engagement) * r.between(0.8, 1.2));
      const calls = callsThisMonth > 0 ? Math.round((callsThisMonth / weeks.length) * r.between(0.85, 1.15)) : 0;
      const adjacentUsers = next ? Math.round(users * adjacent * 0.35) : 0;
      out.product_usage.push(`${id},${cal.date(w)},${users},${events},${calls},${adjacentUsers}`);
    }
    out.seats.push(`${id},${cal.month(m)},${seats},${activeUsers}`);

    // Fate of monthly contracts: a decided churn lands two to four months later
    if (termKind === 'monthly') {
      if (promoMonths > 0 && firstTerm && m === cal.monthOf(termStart) + promoMonths) {
        rewriteMonthly(PLATFORM, cal.addMonths(termStart, promoMonths), seats);
        firstTerm = false;
      }
      if (churnAt < 0 && r.chance(seg.monthlyChurn * risk(m))) {
        churnAt = m + r.int(2, 4);
        declining = r.chance(0.8);
      }
      if (m === churnAt) {
        churnNow(m);
        continue;
      }
      if (!declining && utilisation < 0.5 && seats > minSeats && r.chance(0.1)) {
        seats = Math.max(minSeats, Math.ceil(activeUsers * 1.15));
        rewriteMonthly(PLATFORM, day(), seats);
      }
      continue;
    }

    // Fate of yearly contracts: decided two to four months before the renewal
    if (m === decisionMonth) {
      const churn = r.chance(clamp(seg.renewalChurn * risk(m), 0, 0.9));
      const close = termEnd;
      opportunity('renewal', 'cs', acv(), close >= endDay ? 'open' : churn ? 'lost' : 'won', termEnd - r.int(90, 130), close);
      if (churn) {
        churnAt = cal.monthOf(termEnd);
        declining = r.chance(0.8);
      }
    }
    if (m === cal.monthOf(termEnd)) {
      if (churnAt === m) {
        active = false;
        churnedMonth = m;
        declining = false;
        if (r.chance(seg.name === 'smb' ? 0.14 : 0.06) && reactivations < 2) returnMonth = m + r.int(3, 14);
        continue;
      }
      // Renewal: seats cut to use when utilisation is low, an add-on dropped when unused, a price uplift
      if (utilisation < 0.6 && r.chance(0.7)) seats = Math.max(minSeats, Math.ceil(activeUsers * r.between(1.05, 1.25)));
      else if (r.chance(seg.budgetCut * risk(m))) seats = Math.max(minSeats, Math.round(seats * r.between(0.65, 0.9)));
      for (const a of ADD_ONS) if (owned.has(a.name) && engagement < 0.4 && r.chance(0.35)) owned.delete(a.name);
      uplift *= seg.name === 'enterprise' ? r.between(1, 1.06) : 1;
      firstTerm = false;
      startTerm(termEnd);
      decisionMonth = cal.monthOf(termEnd) - r.int(2, 4);
    }
  }
  void churnedMonth;

  lineRows();
  for (const c of contacts) {
    const stop = c.end ?? (active ? endDay : cal.monthStart(churnedMonth));
    const gap = Math.round(r.logNormal(active && c.end === null ? 10 + 60 * (1 - engagement) : 30, 0.7));
    const last = Math.max(c.start, Math.min(stop, endDay) - gap);
    if (c.start >= endDay) continue;
    out.contacts.push(
      `${c.id},${id},${text(c.name)},${c.role},${cal.date(c.start)},${c.end === null || c.end >= endDay ? '' : cal.date(c.end)},${cal.date(last)}`,
    );
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The index of the first cumulative weight above u (u in [0, 1)). */
function searchCdf(cdf: readonly number[], u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
