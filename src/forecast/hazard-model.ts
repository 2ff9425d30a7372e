/**
 * A discrete-time hazard model: a multinomial logistic regression over one row per account × month
 * at risk, with classes 0 = nothing happened, 1 = churn, 2 = contraction, 3 = expansion (class 0 is
 * the reference). Fitted by Newton's method on the L2-penalised weighted log-likelihood (the
 * intercepts are not penalised), so a fit on a few thousand rows takes milliseconds and the same
 * data always give the same coefficients.
 */
export const OUTCOMES = ['none', 'churn', 'contraction', 'expansion'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** The classes with a coefficient vector of their own (all but the reference 'none'). */
export const EVENTS = ['churn', 'contraction', 'expansion'] as const;
export type EventKind = (typeof EVENTS)[number];

export interface TrainingSet {
  /** Row-major features, `rows × width`; column 0 is the intercept (1). */
  readonly x: Float64Array;
  readonly width: number;
  /** Class of each row: 0 none, 1 churn, 2 contraction, 3 expansion. */
  readonly y: Uint8Array;
  /** Weight of each row (1, or more when the row stands for sampled-out rows). */
  readonly w: Float64Array;
}

export interface HazardModel {
  /** `coef[k][j]`: coefficient of feature j for event k (EVENTS order) against 'none'. */
  readonly coef: readonly Float64Array[];
  readonly iterations: number;
  readonly converged: boolean;
}

/** Class probabilities [none, churn, contraction, expansion] of one feature row. */
export function predictRow(model: HazardModel, x: ArrayLike<number>, offset = 0): [number, number, number, number] {
  // Called for every account, month and replay: no array but the answer is allocated.
  const eta = (c: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < c.length; j++) s += c[j]! * x[offset + j]!;
    return s;
  };
  const a = eta(model.coef[0]!);
  const b = eta(model.coef[1]!);
  const c = eta(model.coef[2]!);
  const top = Math.max(0, a, b, c);
  const ea = Math.exp(a - top);
  const eb = Math.exp(b - top);
  const ec = Math.exp(c - top);
  const z = Math.exp(-top) + ea + eb + ec;
  return [Math.exp(-top) / z, ea / z, eb / z, ec / z];
}

/** The Cholesky factor L (lower triangle, row-major, A = L Lᵀ) of a symmetric positive definite n × n matrix; `a` is overwritten. */
export function cholesky(a: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    const l = Math.sqrt(d > 1e-12 ? d : 1e-12);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
  return a;
}

/** Solves L Lᵀ x = b from a Cholesky factor. */
export function cholSolve(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = x[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** Solves A x = b for a symmetric positive definite A by Cholesky; `a` is overwritten. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  return cholSolve(cholesky(a, n), b, n);
}

/**
 * Fits the model: maximises Σ wᵢ log p(yᵢ | xᵢ) − λ/2 Σ (non-intercept coefficients)² by Newton's
 * method, stopping when no coefficient moves by more than 1e-8 (at most `maxIterations` steps).
 * @example fitHazard({ x, width: 2, y, w }, { lambda: 1 }).coef[0] // churn's intercept and slope
 */
export function fitHazard(data: TrainingSet, options: { lambda?: number; maxIterations?: number; exactSteps?: number; start?: readonly Float64Array[] } = {}): HazardModel {
  const lambda = options.lambda ?? 1;
  const maxIterations = options.maxIterations ?? 60;
  // Newton steps with the exact Hessian; after them the last Hessian is kept (the chord method):
  // each further step costs one pass for the gradient, and converges fast this close to the optimum.
  const exactSteps = options.exactSteps ?? 3;
  let lastLargest = Number.POSITIVE_INFINITY;
  const p = data.width;
  const n = data.y.length;
  const K = EVENTS.length;
  const dim = K * p;
  const coef = Array.from({ length: K }, () => new Float64Array(p));
  // Start from the intercepts of the event rates alone (log of each rate against 'none').
  const total = new Float64Array(K + 1);
  for (let i = 0; i < n; i++) total[data.y[i]!]! += data.w[i]!;
  for (let k = 0; k < K; k++) coef[k]![0] = Math.log((total[k + 1]! + 0.5) / (total[0]! + 0.5));
  // A start close to the optimum (a fit on nearly the same rows) saves Newton steps; the optimum is the same.
  if (options.start && options.start.every((c) => c.length === p)) options.start.forEach((c, k) => coef[k]!.set(c));
  const x = data.x;
  const objective = (c: readonly Float64Array[]): number => {
    let ll = 0;
    for (let i = 0; i < n; i++) {
      const off = i * p;
      let top = 0;
      const eta = [0, 0, 0];
      for (let k = 0; k < K; k++) {
        let e = 0;
        for (let j = 0; j < p; j++) e += c[k]![j]! * x[off + j]!;
        eta[k] = e;
        top = Math.max(top, e);
      }
      const z = Math.exp(-top) + Math.exp(eta[0]! - top) + Math.exp(eta[1]! - top) + Math.exp(eta[2]! - top);
      const y = data.y[i]!;
      ll += data.w[i]! * ((y === 0 ? 0 : eta[y - 1]!) - top - Math.log(z));
    }
    for (let k = 0; k < K; k++) for (let j = 0; j < p; j++) ll -= ((j === 0 ? 1e-6 : lambda) / 2) * c[k]![j]! ** 2;
    return ll;
  };
  let converged = false;
  let it = 0;
  const probs = new Float64Array(K);
  let factor: Float64Array | null = null;
  for (; it < maxIterations && !converged; it++) {
    // The kept Hessian is used only close to the optimum (the last step moved no coefficient by 0.01).
    const exact = it < exactSteps || lastLargest > 1e-2;
    const grad = new Float64Array(dim);
    const packed = exact ? new Float64Array(6 * ((p * (p + 1)) / 2)) : null;
    for (let i = 0; i < n; i++) {
      const off = i * p;
      let z = 1;
      for (let k = 0; k < K; k++) {
        const c = coef[k]!;
        let eta = 0;
        for (let j = 0; j < p; j++) eta += c[j]! * x[off + j]!;
        probs[k] = Math.exp(Math.min(50, eta));
        z += probs[k]!;
      }
      for (let k = 0; k < K; k++) probs[k] = probs[k]! / z;
      const w = data.w[i]!;
      const y = data.y[i]!;
      for (let k = 0; k < K; k++) {
        const r = w * ((y === k + 1 ? 1 : 0) - probs[k]!);
        if (r !== 0) for (let j = 0; j < p; j++) grad[k * p + j]! += r * x[off + j]!;
      }
      if (!packed) continue;
      // Every block of the Hessian is Σ h·x·xᵀ with its own h: the products x_a·x_b (a ≤ b) are
      // formed once per row and added to the six blocks (k ≤ l) side by side.
      const p0 = probs[0]!;
      const p1 = probs[1]!;
      const p2 = probs[2]!;
      const h00 = w * p0 * (1 - p0);
      const h01 = -w * p0 * p1;
      const h02 = -w * p0 * p2;
      const h11 = w * p1 * (1 - p1);
      const h12 = -w * p1 * p2;
      const h22 = w * p2 * (1 - p2);
      let q = 0;
      for (let a = 0; a < p; a++) {
        const xa = x[off + a]!;
        if (xa === 0) {
          q += 6 * (p - a);
          continue;
        }
        for (let b = a; b < p; b++, q += 6) {
          const o = xa * x[off + b]!;
          packed[q]! += h00 * o;
          packed[q + 1]! += h01 * o;
          packed[q + 2]! += h02 * o;
          packed[q + 3]! += h11 * o;
          packed[q + 4]! += h12 * o;
          packed[q + 5]! += h22 * o;
        }
      }
    }
    if (packed) {
      const hess = new Float64Array(dim * dim);
      const pairs = [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]] as const;
      let q = 0;
      for (let a = 0; a < p; a++) {
        for (let b = a; b < p; b++, q += 6) {
          pairs.forEach(([k, l], e) => {
            const v = packed[q + e]!;
            hess[(k * p + a) * dim + l * p + b] = v;
            hess[(k * p + b) * dim + l * p + a] = v;
            hess[(l * p + a) * dim + k * p + b] = v;
            hess[(l * p + b) * dim + k * p + a] = v;
          });
        }
      }
      for (let k = 0; k < K; k++) for (let j = 0; j < p; j++) hess[(k * p + j) * dim + k * p + j]! += j === 0 ? 1e-6 : lambda;
      factor = cholesky(hess, dim);
    }
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < p; j++) grad[k * p + j]! -= (j === 0 ? 1e-6 : lambda) * coef[k]![j]!;
    }
    const step = cholSolve(factor!, grad, dim);
    // Step halving: a full Newton step can overshoot far from the optimum; take the longest of
    // 1, ½, ¼… that does not lower the penalised log-likelihood.
    const before = objective(coef);
    let scale = 1;
    let trial = coef.map((c, k) => c.map((v, j) => v + step[k * p + j]!));
    for (let h = 0; h < 30 && !(objective(trial) >= before - 1e-9 * Math.abs(before)); h++) {
      scale /= 2;
      trial = coef.map((c, k) => c.map((v, j) => v + scale * step[k * p + j]!));
    }
    let largest = 0;
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < p; j++) {
        largest = Math.max(largest, Math.abs(trial[k]![j]! - coef[k]![j]!));
        coef[k]![j] = trial[k]![j]!;
      }
    }
    // A kept Hessian that no longer gives a useful step: the next one is exact.
    if (scale < 1) lastLargest = Number.POSITIVE_INFINITY;
    converged = largest < 1e-7;
    if (scale === 1) lastLargest = largest;
  }
  return { coef, iterations: it, converged };
}

/**
 * Platt scaling of one probability: q = σ(a · logit(p) + b), with (a, b) fitted by Newton's method
 * on a later window than the model's (weighted log-loss, a tiny ridge for stability).
 */
export interface Platt {
  readonly a: number;
  readonly b: number;
}

export const IDENTITY_PLATT: Platt = { a: 1, b: 0 };

const logit = (p: number): number => {
  const c = Math.min(1 - 1e-9, Math.max(1e-9, p));
  return Math.log(c / (1 - c));
};
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function applyPlatt(c: Platt, p: number): number {
  return sigmoid(c.a * logit(p) + c.b);
}

export function fitPlatt(p: readonly number[], y: readonly boolean[], w: readonly number[]): Platt {
  let a = 1;
  let b = 0;
  for (let it = 0; it < 200; it++) {
    let ga = -1e-3 * (a - 1);
    let gb = 0;
    let haa = 1e-3;
    let hab = 0;
    let hbb = 1e-6;
    for (let i = 0; i < p.length; i++) {
      const z = logit(p[i]!);
      const q = sigmoid(a * z + b);
      const r = w[i]! * ((y[i] ? 1 : 0) - q);
      const h = w[i]! * q * (1 - q);
      ga += r * z;
      gb += r;
      haa += h * z * z;
      hab += h * z;
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    // Newton's step, at most 1 in either coefficient (a full step can overshoot from a = 1, b = 0).
    const shrink = Math.max(1, Math.abs((hbb * ga - hab * gb) / det), Math.abs((haa * gb - hab * ga) / det));
    const da = (hbb * ga - hab * gb) / det / shrink;
    const db = (haa * gb - hab * ga) / det / shrink;
    a += da;
    b += db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  return { a, b };
}
