import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage } from "../components/ErrorMessage";
import { safeNext } from "../components/RequireAuth";
import { useI18n } from "../i18n/I18nProvider";

export function LoginPage() {
  const { t } = useI18n();
  const { login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email.trim(), password);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>{t("login.title")}</h1>
      <p className="muted">{t("app.tagline")}</p>
      <form onSubmit={submit} className="form">
        <label>
          {t("login.email")}
          <input
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="login-email"
          />
        </label>
        <label>
          {t("login.password")}
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="login-password"
          />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="login-submit">
          {busy ? t("login.submitting") : t("login.submit")}
        </button>
      </form>
      <p>
        {t("login.noAccount")}{" "}
        <Link to="/signup" data-testid="signup-link">
          {t("login.signupLink")}
        </Link>
      </p>
      <p>
        <Link to="/reset-password" data-testid="forgot-link">
          {t("login.forgot")}
        </Link>
      </p>
    </section>
  );
}

export function SignupPage() {
  const { t } = useI18n();
  const { login } = useAuth();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const address = email.trim();
    try {
      const result = await api.signup(address, password);
      if (result.verification_required) {
        setSentTo(address);
        setBusy(false);
        return;
      }
      await login(address, password);
      navigate("/", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <section className="card narrow">
        <h1>{t("signup.title")}</h1>
        <p role="status" className="alert alert-ok">
          {t("signup.checkMail", { email: sentTo })}
        </p>
        <Link to="/login">{t("reset.toLogin")}</Link>
      </section>
    );
  }

  return (
    <section className="card narrow">
      <h1>{t("signup.title")}</h1>
      <p className="muted">{t("signup.intro")}</p>
      <form onSubmit={submit} className="form">
        <label>
          {t("login.email")}
          <input
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="signup-email"
          />
        </label>
        <label>
          {t("login.password")}
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            aria-describedby="password-hint"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="signup-password"
          />
        </label>
        <p id="password-hint" className="hint">
          {t("signup.passwordHint")}
        </p>
        <ErrorMessage error={error} />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="signup-submit">
          {t("signup.submit")}
        </button>
      </form>
      <p>
        {t("signup.haveAccount")} <Link to="/login">{t("nav.login")}</Link>
      </p>
    </section>
  );
}

export function VerifyEmailPage() {
  const { t } = useI18n();
  const [params] = useSearchParams();
  const token = params.get("token");
  const [state, setState] = useState<"working" | "ok" | "missing">(token ? "working" : "missing");
  const [error, setError] = useState<unknown>(null);
  const sent = useRef(false);

  useEffect(() => {
    if (!token || sent.current) return; // once, even under StrictMode's double effects
    sent.current = true;
    api
      .verifyEmail(token)
      .then(() => setState("ok"))
      .catch((err: unknown) => setError(err));
  }, [token]);

  return (
    <section className="card narrow">
      <h1>{t("verify.title")}</h1>
      {state === "missing" && <p className="alert alert-error">{t("verify.missing")}</p>}
      {state === "working" && !error && <p role="status">{t("verify.working")}</p>}
      {state === "ok" && (
        <p role="status" className="alert alert-ok" data-testid="verify-ok">
          {t("verify.ok")}
        </p>
      )}
      <ErrorMessage error={error} />
      <Link to="/login">{t("reset.toLogin")}</Link>
    </section>
  );
}

export function ResetPasswordPage() {
  const { t } = useI18n();
  const [params] = useSearchParams();
  const token = params.get("token");
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (token) await api.confirmPasswordReset(token, value);
      else await api.requestPasswordReset(value.trim());
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>{t("reset.title")}</h1>
      {done ? (
        <>
          <p role="status" className="alert alert-ok">
            {token ? t("reset.done") : t("reset.sent")}
          </p>
          <Link to="/login">{t("reset.toLogin")}</Link>
        </>
      ) : (
        <form onSubmit={submit} className="form">
          {!token && <p className="muted">{t("reset.intro")}</p>}
          <label>
            {token ? t("reset.newPassword") : t("login.email")}
            <input
              type={token ? "password" : "email"}
              autoComplete={token ? "new-password" : "email"}
              required
              value={value}
              onChange={(e) => setValue(e.target.value)}
              data-testid={token ? "reset-password" : "reset-email"}
            />
          </label>
          {token && <p className="hint">{t("signup.passwordHint")}</p>}
          <ErrorMessage error={error} />
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="reset-submit">
            {token ? t("reset.confirmSubmit") : t("reset.submit")}
          </button>
          <Link to="/login">{t("reset.toLogin")}</Link>
        </form>
      )}
    </section>
  );
}
