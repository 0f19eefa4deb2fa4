import type { RuleResult } from "../api/types";

/**
 * The rules checked on one candidate. An image's `checks` hold every candidate's, one after
 * the other in candidate order (the same rules for each, as one platform's checker ran on
 * every result), so candidate k's are the k-th equal slice. A list that does not split
 * evenly is shown whole rather than cut wrong.
 */
export function checksOfCandidate(checks: readonly RuleResult[], candidates: number, index: number): RuleResult[] {
  if (candidates <= 1 || checks.length % candidates !== 0 || index < 0) return [...checks];
  const size = checks.length / candidates;
  return checks.slice(index * size, (index + 1) * size);
}
