/** NRR Engine's library API. */
export { Workspace, type OpenOptions, type ReadSummary, type SourceSummary, type StoreUse } from './workspace/workspace.js';
export { LiveWorkspace } from './store/live-workspace.js';
export { INGEST_SOURCES, type IngestSource } from './store/ingest-keys.js';
export { MAX_BATCH_ITEMS, type ApplyResult, type IngestBatch } from './store/apply-batch.js';
export { storePath } from './store/open-store.js';
export { STORE_SCHEMA_VERSION } from './store/store-schema.js';
export { ValidationError, type ValidationIssue } from './workspace/validation-report.js';
export type { Progress } from './workspace/progress.js';
export type { UsageSetAside } from './workspace/usage-set-aside.js';
export { NrrError } from './errors.js';
export { Money, stringifyJson } from './money.js';
export { defaultPolicies, describePolicies, policiesSchema, type Policies, type PolicyInput } from './config/policies.js';
export { loadConfig, parseConfigText, CONFIG_FILE_NAME } from './config/config-file.js';
export { mrrLedger, movements, type MrrRow, type MovementRow } from './queries/ledger-queries.js';
export { metrics, metricsSeries, annualise, nrrFromBridge, emptyMetrics, plausibleNrrRange, isPlausibleNrr, type Metrics, type MetricsQuery, type NrrMethod } from './queries/metrics-queries.js';
export { cohortTable, type CohortRow } from './queries/cohort-queries.js';
export { explainAccount, type AccountExplanation, type UsageSetAsideRow } from './queries/explain-queries.js';
export { buildReport, type Report, type ReportOptions } from './report/report-model.js';
export { renderMarkdown } from './report/render-markdown.js';
export { renderHtml } from './report/render-html.js';
export { BENCHMARKS, benchmarkForAcv, chooseBenchmark, compareToBenchmark, type BenchmarkMapping } from './report/benchmarks.js';
export { MOVEMENT_CATEGORIES, MOVEMENT_CAUSES, type ChangeCause, type MovementCategory } from './engine/movements-model.js';
export type { Dialect } from './engine/dialect.js';
export type { Driver } from './drivers/driver.js';
export { DuckDbDriver } from './drivers/duckdb-driver.js';
export { SIGNAL_SOURCES, type SignalSourceName, type SignalColumnSpec, type SignalSourceSpec } from './contract/signal-contract.js';
export { generateCompany, DEFAULT_SEED, type GenerateOptions, type GenerateResult } from './generate/generate-company.js';
export { initWorkspace, configTemplate } from './workspace/init-workspace.js';
export {
  accountRecords,
  buildAccountRecords,
  readAccountRecords,
  scoreAccounts,
  scoreRecords,
  snapshotDate,
  type AccountRecord,
  type ScoredAccount,
} from './accounts/account-records.js';
export { churnRisk, expansionReadiness, type Scored, type Reason } from './accounts/risk-scores.js';
export { DEFAULT_TIERS, tierOf, tiersSchema, type Tiers } from './accounts/tiering.js';
export { healthValidity, type ValidityReport } from './accounts/health-validity.js';
export { rocAuc, lift } from './accounts/predictive-power.js';
export { DEFAULT_HEALTH, MEASURES, healthConfigSchema, resolveHealthConfig, type HealthConfig, type HealthDefinition, type MeasureName } from './health/health-config.js';
export { scoreHealth, compareHealth, bandPoints, type HealthScore, type HealthChange, type MeasureScore } from './health/health-score.js';
export { DEFAULT_PLAYBOOKS, playbooksSchema, type Playbook } from './playbooks/playbook-config.js';
export { DEFAULT_PLAYBOOK_SETTINGS, configVersion, playbookSettingsSchema, statePath, type PlaybookSettings, type Destination } from './playbooks/playbook-settings.js';
export { compileRule, RuleError } from './playbooks/rule-expression.js';
export { RULE_FIELDS, FIELD_ALIASES } from './playbooks/rule-fields.js';
export { dryRun, evaluatePlays, type DryRun, type PlayEntry } from './playbooks/dry-run.js';
export { backtest, type Backtest, type PlayBacktest } from './playbooks/backtest.js';
export { runPlaybooks, type RunResult, type RunOptions, type PlayRunSummary } from './playbooks/run-playbooks.js';
export { PlaybookState, TASK_OUTCOMES, TASK_STATUSES, type Task, type PlayEvent, type Delivery, type TaskOutcome, type TaskStatus } from './playbooks/playbook-state.js';
export { signPayload, verifySignature, chatMessage, type DeliverySummary } from './playbooks/deliver-actions.js';
export { escapeSlackText } from './playbooks/deliver-actions.js';

// Plays evaluated again for the accounts an ingested change touched (LiveWorkspace.apply).
export { playsAfterApply, touchedAccounts, type AppliedPlays, type LiveApplyResult } from './playbooks/apply-plays.js';
export { runPlaysOfAccounts, type RunEffects } from './playbooks/run-playbooks.js';

// Stripe: objects read from exports, their mapping to contract rows, profiles and reconciliation (docs/stripe.md).
export {
  addStripeObject,
  allStripeObjects,
  countStripeObjects,
  emptyStripeObjects,
  readStripeObjects,
  type StripeObjects,
  type StripeCustomer,
  type StripeSubscription,
  type StripeInvoice,
} from './stripe/stripe-objects.js';
export { mapStripe, mapStripeCustomer, dayOf, type ContractRows, type StripeMappingSettings, type SubscriptionRow, type AccountRow, type UsageRow } from './stripe/stripe-mapping.js';
export { PROFILES, PROFILE_NAMES, RULE_NAMES, profileRules, type StripeRules, type StripeProfileName, type RuleName } from './stripe/stripe-profiles.js';
export { importStripe, readKeptObjects, appendKeptObjects, writeKeptObjects, readStripeSettings, effectiveStripeSettings, mappedStripeSettings, mappingSettings, writeContractFiles, stripeDir, type ImportOptions, type ImportResult, type StripeSettings } from './stripe/import-stripe.js';
export { reconcile, type ReconcileRow, type ReconcileOptions } from './stripe/stripe-reconcile.js';
// Stripe, live: API sync, webhook signature, events applied to a live workspace (docs/stripe.md#sync-and-webhooks-live).
export { syncStripe, stripeClient, STRIPE_API_VERSION, SYNCED_TYPES, type StripeSyncOptions, type StripeSyncResult } from './stripe/stripe-api-sync.js';
export { verifyStripeEvent, signStripePayload, WebhookSignatureError, DEFAULT_WEBHOOK_TOLERANCE_S, type StripeEventEnvelope } from './stripe/stripe-webhook.js';
export { StripeEventLog, StripeEventReceiver, type StoredStripeEvent, type StripeEventStatus, type EventOutcome } from './stripe/stripe-events.js';
export { openStripeWebhooks, type StripeWebhooks, type WebhookOptions } from './stripe/stripe-webhook-endpoint.js';

// Forecast of NRR (docs/forecast.md): committed changes, hazard model, simulation, backtest.
export { forecast, forecastFrom, horizonMonths, type Forecast, type ForecastFigures, type ForecastOptions, type AccountForecast, type Quantiles } from './forecast/forecast.js';
export { forecastBacktest, BASELINES, type ForecastBacktest, type ReplayedMonth, type ReliabilityRow } from './forecast/forecast-backtest.js';
export { fitHazard, predictRow, fitPlatt, applyPlatt, type HazardModel, type TrainingSet } from './forecast/hazard-model.js';
export { simulateRevenue, type SimInput, type SimAccount, type SimTotals } from './forecast/simulate-revenue.js';

// Warehouses: the model computed in PostgreSQL or ClickHouse after DuckDB reads and checks the files (docs/engines.md).
export { PostgresDriver, type PostgresOptions } from './drivers/postgres-driver.js';
export { ChdbDriver } from './drivers/chdb-driver.js';
export { openWarehouse } from './drivers/open-warehouse.js';
export type { WarehouseDriver } from './drivers/warehouse-driver.js';
export { openInWarehouse, openOverDuckDbFile, buildModelInWarehouse } from './workspace/warehouse-model.js';
// Dashboard data (issue 19): the company's revenue series, account filters, drill-downs, renewals, books, account timeline and history, task actions (docs/api.md).
export { revenueSeries, checkFilter, SERIES_COLUMNS, type SeriesRow, type SeriesQuery } from './queries/series-queries.js';
export { sqlAccountFilter, hasFilter, type AccountFilter } from './engine/account-filter.js';
export { attributeChoices, filteredAccountIds, niceEdges, MOST_CATEGORIES, type AttributeChoice } from './queries/attribute-queries.js';
export { movementList, movementTotals, type MovementListRow, type MovementListQuery, type MovementTotal, type MovementTotals } from './queries/movement-queries.js';
export { explainMonth, type MonthExplanation, type FileLine } from './queries/account-explain-queries.js';
export { cohortAccounts, cohortPeriod, type CohortAccountRow } from './queries/cohort-account-queries.js';
export { renewals, books, atRisk, AT_RISK_SCORE, AT_RISK_RULE, type RenewalAccount, type RenewalRow, type RenewalMonth, type BookRow } from './queries/renewal-queries.js';
export { accountTimeline, type TimelineEvent } from './queries/account-timeline-queries.js';
export { accountHistory, type AccountHistory, type HistoryPoint } from './queries/account-history-queries.js';
export { taskView, viewTasks, TASK_VIEW_STATUSES, TASK_DUE, type TaskView, type TaskViewStatus, type TaskDue, type TaskFilter } from './playbooks/task-views.js';
