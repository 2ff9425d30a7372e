/** The seed of the demo company: the same seed makes the same company. */
export const DEFAULT_SEED = 2;
