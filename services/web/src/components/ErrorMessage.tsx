import { Link } from "react-router-dom";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n/I18nProvider";
import { errorMessage } from "../i18n/translate";

const UPGRADE_CODES = new Set(["quota_exceeded", "payment_required", "plan_limit", "too_many_images"]);

/** An error in the user's language; billing problems link to the plans page. */
export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  const { t } = useI18n();
  if (!error) return null;
  const upgrade = error instanceof ApiError && UPGRADE_CODES.has(error.code);
  const message = errorMessage(t, error);
  return (
    <div className="alert alert-error" role="alert" data-testid="error">
      <span>{prefix ? t("upload.fileError", { name: prefix, message }) : message}</span>
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
