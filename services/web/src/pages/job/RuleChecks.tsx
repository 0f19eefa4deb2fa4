// The marketplace rules checked on a result: each rule passed or not, in the user's language,
// with what was measured (the service's words, in English).

import type { RuleResult } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import { hasMessage } from "../../i18n/translate";

export function RuleChecks({ checks, imageIndex }: { checks: RuleResult[]; imageIndex: number }) {
  const { t } = useI18n();
  if (!checks.length) return null;
  const failed = checks.filter((check) => !check.passed).length;
  const headingId = `checks-title-${imageIndex}`;
  return (
    <section className="checks" aria-labelledby={headingId} data-testid="rule-checks">
      <h4 id={headingId}>
        {t("job.checks")}{" "}
        <span className={`badge ${failed ? "badge-failed" : "badge-completed"}`}>
          {failed ? t("checks.failedCount", { n: failed, total: checks.length }) : t("checks.allPassed")}
        </span>
      </h4>
      <ul>
        {checks.map((check, i) => {
          const key = `rule.${check.rule}`;
          return (
            <li key={`${i}-${check.rule}`} className={check.passed ? "ok" : "bad"} data-testid="rule-check" data-passed={check.passed}>
              <span aria-hidden="true">{check.passed ? "✓" : "✗"}</span>{" "}
              <span className="visually-hidden">{check.passed ? t("checks.passed") : t("checks.failed")}: </span>
              <strong>{hasMessage(key) ? t(key) : check.rule}</strong>
              {check.message && (
                <span className="small muted" lang="en">
                  {" "}
                  — {check.message}
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
