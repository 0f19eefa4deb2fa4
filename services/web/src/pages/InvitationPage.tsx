import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { api, ApiError } from "../api/client";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n } from "../i18n/I18nProvider";

const INVALID = new Set(["token_invalid", "token_expired", "not_found"]);

/**
 * `/invitations/:token`, the link the invitation email carries (signed-out visitors are sent
 * to the sign-in page first, then back here). Accepting trades the session for one on the
 * invited team, like a sign-in.
 */
export function InvitationPage() {
  const { t } = useI18n();
  const { token = "" } = useParams();
  const { reloadMe } = useAuth();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      await api.acceptInvitation(token);
      await reloadMe();
      navigate("/", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const code = error instanceof ApiError ? error.code : null;
  return (
    <section className="card narrow" data-testid="invitation-page">
      <h1>{t("invite.title")}</h1>
      <p>{t("invite.intro")}</p>
      {code && INVALID.has(code) ? (
        <p className="alert alert-error" role="alert" data-testid="error">
          {t("invite.invalid")}
        </p>
      ) : code === "forbidden" ? (
        <p className="alert alert-error" role="alert" data-testid="error">
          {t("invite.wrongEmail")}
        </p>
      ) : (
        <ErrorMessage error={error} />
      )}
      <button type="button" className="btn btn-primary btn-large" disabled={busy} data-testid="invitation-accept" onClick={accept}>
        {busy ? t("invite.accepting") : t("invite.accept")}
      </button>
    </section>
  );
}
