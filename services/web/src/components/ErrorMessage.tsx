import { Link } from "react-router-dom";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n/I18nProvider";
import { errorMessage } from "../i18n/translate";

const UPGRADE_CODES = new Set(["quota_exceeded", "payment_required", "plan_limit", "too_many_images"]);
// Codes whose translation can only say "something in the request": the gateway's detail (in
// English) says which option and why, so it is shown too.
const DETAILED_CODES = new Set(["bad_option", "validation_error"]);

/** An error in the user's language; billing problems link to the plans page. */
export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  const { t } = useI18n();
  if (!error) return null;
  // 402 is always a billing matter, whatever code a newer gateway gives it
  const upgrade = error instanceof ApiError && (UPGRADE_CODES.has(error.code) || error.status === 402);
  const message = errorMessage(t, error);
  const detail = error instanceof ApiError && DETAILED_CODES.has(error.code) && error.detail !== message ? error.detail : "";
  return (
    <div className="alert alert-error" role="alert" data-testid="error">
      <span>{prefix ? t("upload.fileError", { name: prefix, message }) : message}</span>
      {detail && (
        <span className="small" lang="en" data-testid="error-detail">
          {" "}
          ({detail})
        </span>
      )}
      {upgrade && (
        <>
          {" "}
          <Link to="/plans" className="alert-link" data-testid="upgrade-link">
            {t("error.upgradeLink")}
          </Link>
        </>
      )}
    </div>
  );
}
