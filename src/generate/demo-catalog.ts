/**
 * The demo company's catalogue: its segments and their economics, products, currencies, and the
 * word lists account names and owners are drawn from. The segment parameters are what put each
 * segment's trailing-12-month NRR in its benchmark band (see generate-company.ts).
 */
export type SegmentName = 'enterprise' | 'mid-market' | 'smb' | 'self-serve';

export type TermKind = 'monthly' | 'annual' | 'multi-year';

export interface SegmentSpec {
  readonly name: SegmentName;
  /** Share of signed-up accounts. */
  readonly share: number;
  /** Median seats at signup, and the spread (log-normal sigma). */
  readonly seats: readonly [median: number, sigma: number, min: number, max: number];
  /** List price per seat and month in USD. */
  readonly seatPrice: number;
  /** How contracts are written: weights per term kind. */
  readonly terms: readonly (readonly [TermKind, number])[];
  /** Annual headcount growth of the customer companies (mean, sd): the main driver of seat expansion. */
  readonly headcountGrowth: readonly [mean: number, sd: number];
  /** Churn probability at a renewal of a yearly contract, before the account's own risk factors. */
  readonly renewalChurn: number;
  /** Chance of cutting seats at a renewal though they are used (budget), before risk factors. */
  readonly budgetCut: number;
  /** Monthly churn hazard of a monthly contract, before risk factors. */
  readonly monthlyChurn: number;
  /** Chance per month of buying a further product when users already try its features. */
  readonly crossSell: number;
  /** Chance of adopting the usage-billed API product. */
  readonly apiAdoption: number;
  /** Chance that an onboarding misses activation in the first 90 days. */
  readonly activationMiss: number;
  /** Support tickets per 100 seats and month. */
  readonly ticketRate: number;
  /** Introductory discount on the first term (share of list), and the chance of getting one. */
  readonly discount: readonly [share: number, chance: number];
  /** Company headcount at signup (median). */
  readonly headcount: number;
  readonly qbr: boolean;
  readonly ebr: boolean;
}

export const SEGMENTS: readonly SegmentSpec[] = [
  {
    name: 'enterprise',
    budgetCut: 0.2,
    share: 0.08,
    seats: [260, 0.45, 130, 3000],
    seatPrice: 68,
    terms: [['annual', 0.5], ['multi-year', 0.5]],
    headcountGrowth: [0.11, 0.1],
    renewalChurn: 0.11,
    monthlyChurn: 0,
    crossSell: 0.05,
    apiAdoption: 0.6,
    activationMiss: 0.12,
    ticketRate: 0.9,
    discount: [0.15, 0.6],
    headcount: 4000,
    qbr: true,
    ebr: true,
  },
  {
    name: 'mid-market',
    budgetCut: 0.2,
    share: 0.22,
    seats: [60, 0.35, 36, 150],
    seatPrice: 55,
    terms: [['annual', 0.8], ['multi-year', 0.2]],
    headcountGrowth: [0.06, 0.1],
    renewalChurn: 0.13,
    monthlyChurn: 0,
    crossSell: 0.02,
    apiAdoption: 0.5,
    activationMiss: 0.18,
    ticketRate: 1.6,
    discount: [0.12, 0.5],
    headcount: 600,
    qbr: true,
    ebr: false,
  },
  {
    name: 'smb',
    budgetCut: 0.15,
    share: 0.4,
    seats: [12, 0.5, 3, 34],
    seatPrice: 45,
    terms: [['monthly', 0.55], ['annual', 0.45]],
    headcountGrowth: [0.04, 0.12],
    renewalChurn: 0.27,
    monthlyChurn: 0.027,
    crossSell: 0.02,
    apiAdoption: 0.3,
    activationMiss: 0.28,
    ticketRate: 3,
    discount: [0.1, 0.4],
    headcount: 60,
    qbr: false,
    ebr: false,
  },
  {
    name: 'self-serve',
    budgetCut: 0,
    share: 0.3,
    seats: [3, 0.5, 1, 12],
    seatPrice: 29,
    terms: [['monthly', 1]],
    headcountGrowth: [0.22, 0.15],
    renewalChurn: 0,
    monthlyChurn: 0.024,
    crossSell: 0.015,
    apiAdoption: 0.15,
    activationMiss: 0.35,
    ticketRate: 4,
    discount: [0.2, 0.3],
    headcount: 20,
    qbr: false,
    ebr: false,
  },
];

/** Products: the core platform (per seat), two add-ons (per seat) and the usage-billed API. */
export const PLATFORM = 'platform';
export const ADD_ONS = [
  { name: 'analytics', seatShare: 0.3 },
  { name: 'automation', seatShare: 0.25 },
] as const;
export const API_PRODUCT = 'api';
/** USD per 1,000 API calls. */
export const API_PRICE_PER_THOUSAND = 0.4;

export interface Region {
  readonly name: string;
  readonly weight: number;
  readonly countries: readonly (readonly [country: string, currency: string])[];
}

export const REGIONS: readonly Region[] = [
  { name: 'NA', weight: 0.55, countries: [['US', 'USD'], ['US', 'USD'], ['US', 'USD'], ['CA', 'CAD']] },
  { name: 'EMEA', weight: 0.33, countries: [['GB', 'GBP'], ['DE', 'EUR'], ['FR', 'EUR'], ['NL', 'EUR'], ['ES', 'EUR'], ['SE', 'EUR']] },
  { name: 'APAC', weight: 0.12, countries: [['AU', 'AUD'], ['SG', 'USD'], ['JP', 'USD']] },
];

/** Units of each currency per USD at the start of the demo, and its monthly volatility. */
export const CURRENCIES: readonly (readonly [code: string, perUsd: number, volatility: number])[] = [
  ['EUR', 0.92, 0.018],
  ['GBP', 0.79, 0.02],
  ['CAD', 1.36, 0.015],
  ['AUD', 1.52, 0.022],
];

export const INDUSTRIES = ['software', 'fintech', 'healthcare', 'retail', 'logistics', 'manufacturing', 'media', 'education', 'professional services', 'public sector'] as const;

export const CHANNELS: Record<SegmentName, readonly (readonly [string, number])[]> = {
  enterprise: [['outbound', 0.5], ['inbound', 0.25], ['partner', 0.2], ['event', 0.05]],
  'mid-market': [['inbound', 0.45], ['outbound', 0.3], ['partner', 0.15], ['event', 0.1]],
  smb: [['inbound', 0.6], ['paid search', 0.25], ['partner', 0.1], ['outbound', 0.05]],
  'self-serve': [['product-led', 0.7], ['paid search', 0.2], ['referral', 0.1]],
};

export const DEAL_SOURCES: Record<SegmentName, readonly (readonly [string, number])[]> = {
  enterprise: [['sales', 0.7], ['partner', 0.2], ['marketing', 0.1]],
  'mid-market': [['sales', 0.55], ['marketing', 0.3], ['partner', 0.15]],
  smb: [['marketing', 0.6], ['sales', 0.3], ['partner', 0.1]],
  'self-serve': [['marketing', 1]],
};

const FIRST = ['Ava', 'Ben', 'Chloe', 'Daniel', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kara', 'Liam', 'Maya', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Tariq', 'Uma', 'Victor', 'Wen', 'Yara', 'Zoe'];
const LAST = ['Adams', 'Brennan', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', "O'Neill", 'Patel', 'Rossi', 'Schmidt', 'Tanaka', 'Varga', 'Walsh', 'Young'];

/** The customer-success and account managers of each segment (self-serve is pooled). */
export const CSM_OWNERS: Record<SegmentName, readonly string[]> = {
  enterprise: ['Grace Walsh', 'Hiro Tanaka', 'Ines Moreau', 'Jonas Eriksen'],
  'mid-market': ['Kara Jensen', 'Liam Brennan', 'Maya Patel', 'Noah Fischer', 'Olga Varga', 'Priya Haddad'],
  smb: ['SMB Pod East', 'SMB Pod West', 'SMB Pod EMEA'],
  'self-serve': ['Digital CS'],
};

export const AM_OWNERS: Record<SegmentName, readonly string[]> = {
  enterprise: ['Victor Castillo', 'Wen Nakamura', 'Zoe Adams'],
  'mid-market': ['Ava Rossi', 'Ben Larsen', 'Chloe Dubois', 'Daniel Young'],
  smb: ['Elena Garcia', 'Farid Kowalski', 'Sam Schmidt'],
  'self-serve': ['Self-serve'],
};

const NAME_A = ['Blue', 'North', 'Bright', 'Iron', 'Silver', 'Cedar', 'Granite', 'Harbor', 'Summit', 'Lumen', 'Quarry', 'Maple', 'Copper', 'Vertex', 'Atlas', 'Nimbus', 'Orbit', 'Pioneer', 'Riverside', 'Sterling', 'Tidal', 'Willow', 'Aurora', 'Beacon', 'Falcon', 'Juniper', 'Kestrel', 'Meridian', 'Oakridge', 'Prairie'];
const NAME_B = ['Logistics', 'Health', 'Labs', 'Foods', 'Analytics', 'Systems', 'Retail', 'Capital', 'Media', 'Works', 'Energy', 'Robotics', 'Learning', 'Freight', 'Studios', 'Networks', 'Pharma', 'Bank', 'Insurance', 'Software'];
const NAME_C = ['Inc', 'Ltd', 'GmbH', 'Group', 'Co', 'AG', 'SA', 'BV', 'LLC', 'Holdings'];

/** A company name that is unique per account index. */
export function companyName(index: number): string {
  const a = NAME_A[index % NAME_A.length]!;
  const b = NAME_B[Math.floor(index / NAME_A.length) % NAME_B.length]!;
  const c = NAME_C[Math.floor(index / (NAME_A.length * NAME_B.length)) % NAME_C.length]!;
  const round = Math.floor(index / (NAME_A.length * NAME_B.length * NAME_C.length));
  return round === 0 ? `${a} ${b} ${c}` : `${a} ${b} ${c} ${round + 1}`;
}

export function personName(pick: (n: number) => number): string {
  return `${FIRST[pick(FIRST.length)]!} ${LAST[pick(LAST.length)]!}`;
}

export const FUNDING_ROUNDS = ['seed', 'series_a', 'series_b', 'series_c', 'series_d', 'growth'] as const;
