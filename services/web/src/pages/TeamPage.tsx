import { useEffect, useId, useState, type FormEvent } from "react";
import { api, ApiError } from "../api/client";
import type { ApiKey, ApiKeyCreated, Invitation, Member, MembersResponse, Role, Scope } from "../api/types";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage } from "../components/ErrorMessage";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { writeClipboard } from "../lib/clipboard";

const SCOPES: Scope[] = ["jobs:read", "jobs:write"];

function useDateFormat() {
  const { lang } = useI18n();
  const format = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-US", { dateStyle: "medium" });
  return (iso: string) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : format.format(date);
  };
}

const roleKey = (role: Role) => `team.role.${role}` as MessageKey;

/** The team: members and invitations for everyone; invites and API keys for owners / admins. */
export function TeamPage() {
  const { t } = useI18n();
  const { me } = useAuth();
  const manager = me?.role === "owner" || me?.role === "admin";
  return (
    <section data-testid="team-page">
      <div className="page-head">
        <h1>{t("team.title")}</h1>
      </div>
      <Members manager={manager} selfId={me?.user?.id ?? null} />
      {manager ? (
        <ApiKeys />
      ) : (
        <p className="alert alert-warn" data-testid="members-note">
          {t("team.membersNote")}
        </p>
      )}
    </section>
  );
}

function Members({ manager, selfId }: { manager: boolean; selfId: string | null }) {
  const { t } = useI18n();
  const date = useDateFormat();
  const [data, setData] = useState<MembersResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.members().then(setData, setError);
  }, []);

  async function remove(member: Member) {
    setBusy(true);
    setError(null);
    try {
      await api.removeMember(member.user_id);
      setData((d) => d && { ...d, members: d.members.filter((m) => m.user_id !== member.user_id) });
      setConfirming(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const invited = (invitation: Invitation) =>
    setData((d) => d && { ...d, invitations: [...d.invitations.filter((i) => i.email !== invitation.email), invitation] });

  return (
    <>
      <h2>{t("team.members")}</h2>
      <ErrorMessage error={error} />
      {!data && !error && <p role="status">{t("common.loading")}</p>}
      {data && (
        <ul className="team-list">
          {data.members.map((member) => (
            <li key={member.user_id} className="card team-item" data-testid="member-row">
              <div className="team-item-main">
                <strong className="filename">{member.email}</strong>
                {member.user_id === selfId && <span className="muted"> {t("team.you")}</span>}{" "}
                <span className="badge">{t(roleKey(member.role))}</span>
                <div className="muted small">{t("team.joined", { date: date(member.joined_at) })}</div>
              </div>
              {manager && member.user_id !== selfId && (
                confirming === member.user_id ? (
                  <div className="row" role="group" aria-label={t("team.remove", { email: member.email })}>
                    <span>{t("team.removeConfirm", { email: member.email })}</span>
                    <button type="button" className="btn btn-danger" disabled={busy} data-testid="member-remove-confirm" onClick={() => remove(member)}>
                      {t("team.removeYes")}
                    </button>
                    <button type="button" className="btn btn-secondary" onClick={() => setConfirming(null)}>
                      {t("team.cancel")}
                    </button>
                  </div>
                ) : (
                  <button
                    type="button"
                    className="btn btn-secondary"
                    aria-label={t("team.remove", { email: member.email })}
                    data-testid="member-remove"
                    onClick={() => setConfirming(member.user_id)}
                  >
                    {t("team.removeButton")}
                  </button>
                )
              )}
            </li>
          ))}
        </ul>
      )}
      {data && data.invitations.length > 0 && (
        <>
          <h3>{t("team.invitations")}</h3>
          <ul className="team-list">
            {data.invitations.map((invitation) => (
              <li key={invitation.id} className="card team-item" data-testid="invitation-row">
                <div className="team-item-main">
                  <span className="filename">{invitation.email}</span> <span className="badge">{t(roleKey(invitation.role))}</span>
                  <div className="muted small">{t("team.expires", { date: date(invitation.expires_at) })}</div>
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
      {manager && <InviteForm onInvited={invited} />}
    </>
  );
}

function InviteForm({ onInvited }: { onInvited: (invitation: Invitation) => void }) {
  const { t } = useI18n();
  const id = useId();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<"member" | "admin">("member");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSent(null);
    try {
      const invitation = await api.invite(email.trim(), role);
      onInvited(invitation);
      setSent(invitation.email);
      setEmail("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const taken = error instanceof ApiError && error.code === "email_taken";
  return (
    <form className="card form team-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t("team.invite")}</h3>
      <p className="hint">{t("team.enterpriseHint")}</p>
      <label htmlFor={`${id}-email`}>{t("team.inviteEmail")}</label>
      <input
        id={`${id}-email`}
        type="email"
        required
        autoComplete="off"
        value={email}
        data-testid="invite-email"
        onChange={(e) => setEmail(e.target.value)}
      />
      <label htmlFor={`${id}-role`}>{t("team.inviteRole")}</label>
      <select id={`${id}-role`} value={role} data-testid="invite-role" onChange={(e) => setRole(e.target.value as "member" | "admin")}>
        <option value="member">{t("team.role.member")}</option>
        <option value="admin">{t("team.role.admin")}</option>
      </select>
      {taken ? (
        <p className="alert alert-error" role="alert" data-testid="error">
          {t("team.alreadyMember")}
        </p>
      ) : (
        <ErrorMessage error={error} />
      )}
      {sent && (
        <p className="alert alert-ok" role="status" data-testid="invite-sent">
          {t("team.invited", { email: sent })}
        </p>
      )}
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="invite-submit">
          {busy ? t("team.inviting") : t("team.inviteSubmit")}
        </button>
      </div>
    </form>
  );
}

function ApiKeys() {
  const { t } = useI18n();
  const date = useDateFormat();
  const id = useId();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(SCOPES);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [noScopes, setNoScopes] = useState(false);

  useEffect(() => {
    api.apiKeys().then(setKeys, setError);
  }, []);

  async function create(event: FormEvent) {
    event.preventDefault();
    setNoScopes(scopes.length === 0);
    if (scopes.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api.createApiKey(name.trim(), scopes);
      const { key: _secret, ...listed } = answer;
      setKeys((k) => [listed, ...(k ?? [])]);
      setCreated(answer); // the secret lives only here, until dismissed
      setName("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKey) {
    setBusy(true);
    setError(null);
    try {
      await api.revokeApiKey(key.id);
      const now = new Date().toISOString();
      setKeys((k) => k && k.map((each) => (each.id === key.id ? { ...each, revoked_at: each.revoked_at ?? now } : each)));
      setConfirming(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const toggle = (scope: Scope, on: boolean) =>
    setScopes((s) => (on ? SCOPES.filter((x) => x === scope || s.includes(x)) : s.filter((x) => x !== scope)));

  return (
    <>
      <h2>{t("keys.title")}</h2>
      <p className="muted">{t("keys.intro")}</p>
      {created && <SecretBox created={created} onDone={() => setCreated(null)} />}
      <ErrorMessage error={error} />
      {!keys && !error && <p role="status">{t("common.loading")}</p>}
      {keys && keys.length === 0 && <p className="muted">{t("keys.empty")}</p>}
      {keys && keys.length > 0 && (
        <ul className="team-list">
          {keys.map((key) => (
            <li key={key.id} className={`card team-item${key.revoked_at ? " revoked" : ""}`} data-testid="api-key-row">
              <div className="team-item-main">
                <strong className="filename">{key.name}</strong> <code>{key.prefix}…</code>{" "}
                {key.revoked_at && <span className="badge badge-failed">{t("keys.revoked")}</span>}
                <div className="muted small">
                  {key.scopes.map((s) => (hasScopeLabel(s) ? t(`keys.scope.${s}`) : s)).join(" · ")} ·{" "}
                  {t("keys.created", { date: date(key.created_at) })} ·{" "}
                  {key.last_used_at ? t("keys.lastUsed", { date: date(key.last_used_at) }) : t("keys.neverUsed")}
                </div>
              </div>
              {!key.revoked_at &&
                (confirming === key.id ? (
                  <div className="row" role="group" aria-label={t("keys.revoke", { name: key.name })}>
                    <span>{t("keys.revokeConfirm", { name: key.name })}</span>
                    <button type="button" className="btn btn-danger" disabled={busy} data-testid="api-key-revoke-confirm" onClick={() => revoke(key)}>
                      {t("keys.revokeYes")}
                    </button>
                    <button type="button" className="btn btn-secondary" onClick={() => setConfirming(null)}>
                      {t("team.cancel")}
                    </button>
                  </div>
                ) : (
                  <button type="button" className="btn btn-secondary" data-testid="api-key-revoke" onClick={() => setConfirming(key.id)}>
                    {t("keys.revoke", { name: key.name })}
                  </button>
                ))}
            </li>
          ))}
        </ul>
      )}
      <form className="card form team-form" onSubmit={create} aria-labelledby={`${id}-title`}>
        <h3 id={`${id}-title`}>{t("keys.create")}</h3>
        <label htmlFor={`${id}-name`}>{t("keys.name")}</label>
        <input
          id={`${id}-name`}
          type="text"
          required
          maxLength={100}
          autoComplete="off"
          value={name}
          data-testid="api-key-name"
          onChange={(e) => setName(e.target.value)}
        />
        <fieldset className="options">
          <legend>{t("keys.scopes")}</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                data-testid={`api-key-scope-${scope}`}
                onChange={(e) => toggle(scope, e.target.checked)}
              />
              {t(`keys.scope.${scope}`)} <code>{scope}</code>
            </label>
          ))}
        </fieldset>
        {noScopes && (
          <p className="alert alert-error" role="alert">
            {t("keys.noScopes")}
          </p>
        )}
        <div>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="api-key-create">
            {busy ? t("keys.creating") : t("keys.create")}
          </button>
        </div>
      </form>
    </>
  );
}

const hasScopeLabel = (scope: string): scope is Scope => (SCOPES as string[]).includes(scope);

/** The new key, shown this once: a read-only field, a copy button, a warning. */
function SecretBox({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const { t } = useI18n();
  const id = useId();
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <div className="card secret-box" role="region" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t("keys.secretTitle", { name: created.name })}</h3>
      <p className="alert alert-warn" role="alert">
        {t("keys.secretWarning")}
      </p>
      <label htmlFor={`${id}-key`}>{t("keys.secretLabel")}</label>
      <div className="row">
        <input
          id={`${id}-key`}
          className="secret-input"
          type="text"
          readOnly
          spellCheck={false}
          value={created.key}
          data-testid="api-key-secret"
          onFocus={(e) => e.target.select()}
        />
        <button
          type="button"
          className="btn btn-primary"
          data-testid="api-key-copy"
          onClick={() =>
            writeClipboard(created.key).then(
              () => setState("copied"),
              () => setState("failed"),
            )
          }
        >
          {state === "copied" ? t("keys.copied") : t("keys.copy")}
        </button>
      </div>
      {state === "failed" && <p className="alert alert-error">{t("error.clipboard")}</p>}
      <div>
        <button type="button" className="btn btn-secondary" data-testid="api-key-secret-done" onClick={onDone}>
          {t("keys.done")}
        </button>
      </div>
    </div>
  );
}
