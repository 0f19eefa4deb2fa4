import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import type { PlansResponse } from "../api/types";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n } from "../i18n/I18nProvider";
import { planName } from "../i18n/translate";

export function formatPrice(cents: number, lang: string): string {
  return new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en-US", {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: cents % 100 === 0 ? 0 : 2,
  }).format(cents / 100);
}

export function PlansPage() {
  const { t, lang } = useI18n();
  const { me, reloadMe } = useAuth();
  const [params] = useSearchParams();
  const [data, setData] = useState<PlansResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const checkout = params.get("checkout");

  useEffect(() => {
    api.plans().then(setData, setError);
  }, []);

  // Back from Stripe: billing learns of the payment by webhook, a moment later.
  useEffect(() => {
    if (checkout !== "success") return;
    void reloadMe();
    const timer = setTimeout(() => void reloadMe(), 3000);
    return () => clearTimeout(timer);
  }, [checkout, reloadMe]);

  const owner = me?.role === "owner";
  const account = me?.account ?? null;
  const currentPlan = account?.plan.id;

  async function go(key: string, action: () => Promise<{ url: string }>) {
    setBusy(key);
    setError(null);
    try {
      const { url } = await action();
      window.location.assign(url);
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  }

  const back = `${window.location.origin}/plans`;
  return (
    <section>
      <div className="page-head">
        <h1>{t("plans.title")}</h1>
        {owner && (
          <button
            type="button"
            className="btn btn-secondary"
            disabled={busy !== null}
            data-testid="portal-button"
            onClick={() => go("portal", () => api.portal())}
          >
            {t("plans.portal")}
          </button>
        )}
      </div>
      {checkout === "success" && (
        <p className="alert alert-ok" role="status">
          {t("plans.success")}
        </p>
      )}
      {checkout === "cancel" && (
        <p className="alert alert-warn" role="status">
          {t("plans.cancelled")}
        </p>
      )}
      {account && (
        <p className="remaining" data-testid="remaining">
          {t("plans.current")}: <strong>{planName(t, account.plan)}</strong> ·{" "}
          {account.remaining_images === null
            ? t("upload.remainingUnlimited")
            : t("plans.remaining", { n: account.remaining_images })}
          {account.credits > 0 && <> · {t("plans.credits", { n: account.credits })}</>}
        </p>
      )}
      {!owner && me && (
        <p className="alert alert-warn" data-testid="owner-only">
          {t("plans.ownerOnly")}
        </p>
      )}
      {busy && <p role="status">{t("plans.redirecting")}</p>}
      <ErrorMessage error={error} />
      {!data && !error && <p role="status">{t("common.loading")}</p>}
      {data && (
        <>
          <ul className="plans">
            {data.plans.map((plan) => (
              <li key={plan.id} className={`card plan${plan.id === currentPlan ? " current" : ""}`} data-testid="plan">
                <h2>
                  {planName(t, plan)} {plan.id === currentPlan && <span className="badge">{t("plans.currentBadge")}</span>}
                </h2>
                <p className="price">
                  {plan.monthly_price_cents > 0
                    ? t("plans.perMonth", { price: formatPrice(plan.monthly_price_cents, lang) })
                    : plan.image_price_cents > 0
                      ? t("plans.perImage", { price: formatPrice(plan.image_price_cents, lang) })
                      : t("plans.free")}
                </p>
                <ul className="features">
                  {plan.included_images > 0 && <li>{t("plans.included", { n: plan.included_images })}</li>}
                  <li>{t("plans.maxBatch", { n: plan.max_batch })}</li>
                  <li>{t("plans.maxOutput", { n: plan.max_output_px })}</li>
                  {plan.api_keys && <li>{t("plans.apiKeys")}</li>}
                  {plan.team_members && <li>{t("plans.teamMembers")}</li>}
                </ul>
                {owner && plan.subscription && plan.id !== currentPlan && (
                  <button
                    type="button"
                    className="btn btn-primary"
                    disabled={busy !== null}
                    data-testid={`checkout-${plan.id}`}
                    onClick={() =>
                      go(plan.id, () =>
                        api.checkout({ plan: plan.id }, `${back}?checkout=success`, `${back}?checkout=cancel`),
                      )
                    }
                  >
                    {t("plans.subscribe")}
                  </button>
                )}
              </li>
            ))}
          </ul>
          {data.packs.length > 0 && (
            <>
              <h2>{t("plans.packs")}</h2>
              <ul className="plans">
                {data.packs.map((pack) => (
                  <li key={pack.id} className="card plan" data-testid="pack">
                    <h3>{t("plans.packImages", { n: pack.images })}</h3>
                    <p className="price">{formatPrice(pack.price_cents, lang)}</p>
                    {owner && (
                      <button
                        type="button"
                        className="btn btn-primary"
                        disabled={busy !== null}
                        data-testid={`checkout-${pack.id}`}
                        onClick={() =>
                          go(pack.id, () =>
                            api.checkout({ pack: pack.id }, `${back}?checkout=success`, `${back}?checkout=cancel`),
                          )
                        }
                      >
                        {t("plans.buy")}
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
