/**
 * The signal files of the data contract: product usage, seats, customer-success activity, support,
 * contacts, enrichment and CRM opportunities. They describe accounts; they never change revenue.
 * Each column has a type that validation checks; docs/data-contract.md documents them for users.
 */
export type SignalSourceName =
  | 'product_usage'
  | 'seats'
  | 'onboarding'
  | 'meetings'
  | 'contacts'
  | 'tickets'
  | 'enrichment'
  | 'opportunities';

export type SignalColumnType =
  | 'text'
  /** YYYY-MM-DD */
  | 'date'
  /** YYYY-MM */
  | 'month'
  /** A whole number, zero or more. */
  | 'count'
  /** A plain decimal number, zero or more (money in the row's currency, or the reporting currency without one). */
  | 'amount'
  /** 0 to 100. */
  | 'score'
  /** true or false (also yes/no, y/n, 1/0, in any case). */
  | 'boolean'
  /** A three-letter ISO code. */
  | 'currency';

export interface SignalColumnSpec {
  readonly name: string;
  readonly type: SignalColumnType;
  readonly required: boolean;
  /**
   * The allowed values, when the column is an enumeration. A value is compared in lower case with
   * blanks and hyphens as underscores ('Check-in' is check_in), after `synonyms`.
   */
  readonly values?: readonly string[];
  /** Other exports' words for the allowed values (after the same normalisation): 'medium' → 'normal'. */
  readonly synonyms?: Readonly<Record<string, string>>;
  /** What the column means, for docs and `nrr init`. */
  readonly meaning: string;
}

export interface SignalSourceSpec {
  readonly name: SignalSourceName;
  /** One line on what a row is. */
  readonly grain: string;
  readonly columns: readonly SignalColumnSpec[];
  /** Columns that together identify a row; a repeat is an error. */
  readonly key: readonly string[];
  /** Pairs [earlier, later] of date columns that must be in order when both are present. */
  readonly ordered?: readonly (readonly [string, string])[];
  /**
   * Money in the row's `currency` (empty: the reporting currency) is converted with fx_rates; a
   * rate for it must be in force on this date column's day.
   */
  readonly fxAt?: string;
}

const c = (
  name: string,
  type: SignalColumnType,
  required: boolean,
  meaning: string,
  values?: readonly string[],
  synonyms?: Readonly<Record<string, string>>,
): SignalColumnSpec => ({ name, type, required, meaning, ...(values ? { values } : {}), ...(synonyms ? { synonyms } : {}) });

const accountId = c('account_id', 'text', true, 'the account, as in accounts and subscriptions');

export const MILESTONES = ['kickoff', 'integration', 'first_value', 'activation'] as const;
export const MEETING_TYPES = ['kickoff', 'qbr', 'ebr', 'check_in'] as const;
export const MEETING_STATUSES = ['scheduled', 'held', 'skipped', 'cancelled'] as const;
export const CONTACT_ROLES = ['executive_sponsor', 'champion', 'admin', 'user'] as const;
export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const OPPORTUNITY_TYPES = ['new', 'expansion', 'renewal'] as const;
export const OPPORTUNITY_SOURCES = ['cs', 'sales', 'partner', 'marketing'] as const;
export const OPPORTUNITY_STAGES = ['open', 'won', 'lost'] as const;

/**
 * Words other exports use for the allowed values (Freshdesk and Jira priorities, Salesforce stages
 * and types, US spellings), after lower case and blanks/hyphens as underscores. docs/data-contract.md lists them.
 */
export const SIGNAL_SYNONYMS = {
  ticketPriority: { medium: 'normal', lowest: 'low', highest: 'urgent', critical: 'urgent' },
  meetingType: { checkin: 'check_in', kick_off: 'kickoff' },
  meetingStatus: { completed: 'held', done: 'held', no_show: 'skipped', canceled: 'cancelled', planned: 'scheduled' },
  contactRole: { sponsor: 'executive_sponsor', exec_sponsor: 'executive_sponsor' },
  milestone: { kick_off: 'kickoff', go_live: 'activation' },
  opportunityType: { new_business: 'new', upsell: 'expansion', cross_sell: 'expansion' },
  opportunityStage: { closed_won: 'won', closed_lost: 'lost' },
} as const satisfies Record<string, Readonly<Record<string, string>>>;

export const SIGNAL_SOURCES: Record<SignalSourceName, SignalSourceSpec> = {
  product_usage: {
    name: 'product_usage',
    grain: 'one row per account and week; a week without a row, after the account’s first, had no activity (zeros)',
    key: ['account_id', 'week'],
    columns: [
      accountId,
      c('week', 'date', true, 'the first day (Monday) of the week'),
      c('active_users', 'count', false, 'distinct users active in the week'),
      c('key_events', 'count', false, 'uses of the key features that deliver the product’s value'),
      c('api_calls', 'count', false, 'API calls made in the week'),
      c('adjacent_feature_users', 'count', false, 'users of features of a product the account does not buy yet'),
    ],
  },
  seats: {
    name: 'seats',
    grain: 'one row per account and month',
    key: ['account_id', 'month'],
    columns: [
      accountId,
      c('month', 'month', true, 'the month'),
      c('seats_purchased', 'count', true, 'seats under contract at the end of the month'),
      c('seats_active', 'count', true, 'seats used at least once in the month'),
    ],
  },
  onboarding: {
    name: 'onboarding',
    grain: 'one row per account and onboarding milestone',
    key: ['account_id', 'milestone'],
    columns: [
      accountId,
      c('milestone', 'text', true, 'the milestone', MILESTONES, SIGNAL_SYNONYMS.milestone),
      c('target_date', 'date', true, 'when the milestone was due'),
      c('achieved_date', 'date', false, 'when it was reached; empty if not (yet) reached'),
    ],
  },
  meetings: {
    name: 'meetings',
    grain: 'one row per customer meeting',
    key: ['meeting_id'],
    columns: [
      c('meeting_id', 'text', true, 'a unique id'),
      accountId,
      c('type', 'text', true, 'kickoff, qbr (quarterly business review), ebr (executive business review) or check_in', MEETING_TYPES, SIGNAL_SYNONYMS.meetingType),
      c('scheduled_date', 'date', true, 'the day it was (or is) scheduled for'),
      c('status', 'text', true, 'scheduled (still to come), held, skipped (the customer did not come) or cancelled', MEETING_STATUSES, SIGNAL_SYNONYMS.meetingStatus),
    ],
  },
  contacts: {
    name: 'contacts',
    grain: 'one row per person at a customer, per role',
    key: ['contact_id'],
    ordered: [['start_date', 'end_date']],
    columns: [
      c('contact_id', 'text', true, 'a unique id'),
      accountId,
      c('name', 'text', false, 'the person'),
      c('role', 'text', true, 'executive_sponsor, champion, admin or user', CONTACT_ROLES, SIGNAL_SYNONYMS.contactRole),
      c('start_date', 'date', true, 'when they took the role'),
      c('end_date', 'date', false, 'when they left it; empty if still in it'),
      c('last_engaged', 'date', false, 'the last meeting, call or email reply with them'),
    ],
  },
  tickets: {
    name: 'tickets',
    grain: 'one row per support ticket',
    key: ['ticket_id'],
    ordered: [['opened_date', 'closed_date']],
    columns: [
      c('ticket_id', 'text', true, 'a unique id'),
      accountId,
      c('opened_date', 'date', true, 'when it was opened'),
      c('closed_date', 'date', false, 'when it was closed; empty if open'),
      c('priority', 'text', true, 'low, normal, high or urgent', TICKET_PRIORITIES, SIGNAL_SYNONYMS.ticketPriority),
      c('escalated', 'boolean', true, 'true if it was escalated beyond the first line'),
    ],
  },
  enrichment: {
    name: 'enrichment',
    grain: 'one row per account and observation date (firmographic data from an enrichment vendor)',
    key: ['account_id', 'date'],
    columns: [
      accountId,
      c('date', 'date', true, 'when this was observed'),
      c('headcount', 'count', false, 'employees of the customer company'),
      c('funding_round', 'text', false, 'a funding round announced on this date (seed, series_a, …); empty if none'),
      c('funding_amount', 'amount', false, 'the round’s amount in USD'),
    ],
  },
  opportunities: {
    name: 'opportunities',
    grain: 'one row per CRM opportunity',
    key: ['opportunity_id'],
    ordered: [['created_date', 'close_date']],
    fxAt: 'created_date',
    columns: [
      c('opportunity_id', 'text', true, 'a unique id'),
      accountId,
      c('type', 'text', true, 'new, expansion or renewal', OPPORTUNITY_TYPES, SIGNAL_SYNONYMS.opportunityType),
      c('sourced_by', 'text', true, 'who found it: cs, sales, partner or marketing', OPPORTUNITY_SOURCES),
      c('amount', 'amount', true, 'annual contract value at stake, in currency'),
      c('currency', 'currency', false, 'ISO code; empty means the reporting currency'),
      c('stage', 'text', true, 'open, won or lost', OPPORTUNITY_STAGES, SIGNAL_SYNONYMS.opportunityStage),
      c('created_date', 'date', true, 'when it was opened'),
      c('close_date', 'date', false, 'when it was won or lost, or is expected to close'),
    ],
  },
};

/** The column names of a signal source, in contract order. */
export function signalColumns(source: SignalSourceName): string[] {
  return SIGNAL_SOURCES[source].columns.map((col) => col.name);
}
