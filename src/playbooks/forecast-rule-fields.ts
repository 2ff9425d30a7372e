import { writeRuleProbabilities } from '../forecast/account-probabilities.js';
import type { Workspace } from '../workspace/workspace.js';
import { compileRule } from './rule-expression.js';
import { FIELD_ALIASES, FORECAST_FIELDS } from './rule-fields.js';

/** Whether any play's trigger or exit rule reads a field of the forecast (churn_probability_90d…). */
export function playsReadForecast(ws: Workspace): boolean {
  const d = ws.driver.dialect;
  return ws.scoring.playbooks.some((p) =>
    [p.when, ...(p.exit ? [p.exit] : [])].some((rule) => compileRule(rule, d).fields.some((f) => FORECAST_FIELDS.includes(FIELD_ALIASES[f] ?? f))),
  );
}

/**
 * Before rules are evaluated on these days: the forecast's probabilities of each day, when a play
 * reads them (one fit of the model per month-end; nothing is fitted when no rule needs it).
 */
export async function prepareForecastFields(ws: Workspace, days: readonly string[]): Promise<void> {
  if (playsReadForecast(ws)) await writeRuleProbabilities(ws, days);
}
