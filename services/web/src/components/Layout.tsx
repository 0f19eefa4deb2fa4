import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { useAuth } from "../auth/AuthProvider";
import { useI18n } from "../i18n/I18nProvider";

export function Layout() {
  const { t, lang, setLang } = useI18n();
  const { status, me, logout } = useAuth();
  const navigate = useNavigate();
  const authed = status === "authed";
  return (
    <>
      <a className="skip-link" href="#main">
        {t("common.skipToContent")}
      </a>
      <header className="header">
        <div className="header-inner">
          <NavLink to="/" className="brand">
            {t("app.name")}
          </NavLink>
          {authed && (
            <nav aria-label={t("nav.main")} className="nav">
              <NavLink to="/" end>
                {t("nav.upload")}
              </NavLink>
              <NavLink to="/history">{t("nav.history")}</NavLink>
              <NavLink to="/plans">{t("nav.plans")}</NavLink>
              <NavLink to="/team" data-testid="nav-team">
                {t("nav.team")}
              </NavLink>
            </nav>
          )}
          <div className="header-actions">
            {authed && me?.user && <span className="user-email">{me.user.email}</span>}
            <button
              type="button"
              className="btn btn-ghost"
              lang={lang === "zh" ? "en" : "zh-CN"}
              // the visible name ("English" / "中文", in its own language) is the accessible
              // name: an aria-label that differs from it confuses voice control (axe-core)
              title={t("lang.switchLabel")}
              data-testid="lang-switch"
              onClick={() => setLang(lang === "zh" ? "en" : "zh")}
            >
              {t("lang.switch")}
            </button>
            {authed && (
              <button
                type="button"
                className="btn btn-ghost"
                data-testid="logout-button"
                onClick={async () => {
                  await logout();
                  navigate("/login");
                }}
              >
                {t("nav.logout")}
              </button>
            )}
          </div>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
