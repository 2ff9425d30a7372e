/**
 * The forecast's defaults, apart from the model so that `nrr forecast --help` shows them without
 * loading it.
 */

export const DEFAULT_HORIZON_DAYS = 90;
export const DEFAULT_SIMULATIONS = 1000;
/**
 * Accounts × simulated periods the default simulation runs at most: 1,000 periods up to 40,000
 * accounts, fewer above (never under 300), so that a large company's forecast stays within seconds.
 * The quantiles' Monte Carlo error depends on the periods, not the accounts (see simulationNote).
 */
export const SIMULATION_BUDGET = 40_000_000;
export const DEFAULT_FORECAST_SEED = 1;
/** Accounts listed as the largest contributors to the downside. */
export const DOWNSIDE_COUNT = 10;
/** Month-ends a backtest replays by default. */
export const DEFAULT_BACKTEST_MONTHS = 24;
/** Simulated periods per replayed month-end in a backtest. */
export const DEFAULT_BACKTEST_SIMULATIONS = 400;
