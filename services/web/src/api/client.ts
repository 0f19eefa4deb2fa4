// The gateway's REST API. The access token lives only in memory; the refresh token is the
// httpOnly cookie the gateway sets on sign-in, spent by POST /v1/auth/refresh.

import type {
  ApiKey,
  ApiKeyCreated,
  Invitation,
  Job,
  JobPage,
  Me,
  MembersResponse,
  Platform,
  PlansResponse,
  Scope,
  Style,
  TokenPair,
} from "./types";

/** A problem+json answer (or a network failure: status 0, code "network_error"). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly body: Record<string, unknown>;

  constructor(status: number, code: string, detail: string, body: Record<string, unknown> = {}) {
    super(detail || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.body = body;
  }
}

/** Turns a non-2xx response into an ApiError (problem+json, else a code from the status). */
export async function problemFrom(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const text = await response.text();
    if (text) {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    }
  } catch {
    // not JSON: keep the status
  }
  const code = typeof body.code === "string" ? body.code : `http_${response.status}`;
  const detail =
    typeof body.detail === "string"
      ? body.detail
      : typeof body.title === "string"
        ? body.title
        : response.statusText;
  return new ApiError(response.status, code, detail, body);
}

export interface RequestOptions extends Omit<RequestInit, "body"> {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (FormData, URLSearchParams). */
  body?: BodyInit;
  /** Send the access token (default true). */
  auth?: boolean;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
type HintStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

// Whether this browser signed in and has not signed out: the refresh cookie is httpOnly (no
// script can see it), so without this hint every first visit would ask for a refresh that
// can only fail (a 401 in the console). Not a secret: it holds "1".
export const SESSION_HINT_KEY = "globalpic.session";

function defaultStorage(): HintStorage | null {
  return typeof localStorage === "undefined" ? null : localStorage;
}

export class ApiClient {
  private accessToken: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(token: string | null) => void>();

  constructor(
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
    private readonly baseUrl = "",
    private readonly hints: HintStorage | null = defaultStorage(),
  ) {}

  /** False when this browser has no session to refresh (never signed in, or signed out). */
  mayHaveSession(): boolean {
    try {
      return this.hints?.getItem(SESSION_HINT_KEY) === "1";
    } catch {
      return true; // storage blocked: ask the gateway
    }
  }

  get token(): string | null {
    return this.accessToken;
  }

  setToken(token: string | null): void {
    try {
      if (token) this.hints?.setItem(SESSION_HINT_KEY, "1");
      else this.hints?.removeItem(SESSION_HINT_KEY);
    } catch {
      // storage blocked (private mode): the hint is only an optimisation
    }
    if (token === this.accessToken) return;
    this.accessToken = token;
    for (const listener of this.listeners) listener(token);
  }

  /** Called whenever the access token changes (null: signed out / session ended). */
  onTokenChange(listener: (token: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A fetch with the access token; a 401 `token_expired` refreshes the session once and
   * retries. Non-2xx answers throw an ApiError.
   */
  async raw(path: string, options: RequestOptions = {}): Promise<Response> {
    const response = await this.send(path, options);
    if (response.ok) return response;
    const error = await problemFrom(response);
    if (error.status === 401 && error.code === "token_expired" && options.auth !== false) {
      if (await this.refresh()) {
        const again = await this.send(path, options);
        if (again.ok) return again;
        throw await problemFrom(again);
      }
    }
    throw error;
  }

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.raw(path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Trades the refresh cookie for a new pair (concurrent callers share one call). False when
   * there is no session (the caller signs in again).
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const response = await this.fetchImpl(`${this.baseUrl}/v1/auth/refresh`, {
            method: "POST",
            credentials: "include",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: "{}",
          });
          if (!response.ok) {
            this.setToken(null);
            return false;
          }
          const pair = (await response.json()) as TokenPair;
          this.setToken(pair.access_token);
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  private async send(path: string, options: RequestOptions): Promise<Response> {
    const { json, body, auth = true, headers, ...rest } = options;
    const h = new Headers(headers);
    if (!h.has("Accept")) h.set("Accept", "application/json");
    let payload: BodyInit | undefined = body;
    if (json !== undefined) {
      h.set("Content-Type", "application/json");
      payload = JSON.stringify(json);
    }
    if (auth && this.accessToken) h.set("Authorization", `Bearer ${this.accessToken}`);
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}`, {
        credentials: "include",
        ...rest,
        headers: h,
        body: payload,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(0, "network_error", String(error));
    }
  }

  // ---- accounts ----

  async login(email: string, password: string): Promise<void> {
    const form = new URLSearchParams({ username: email, password });
    const pair = await this.request<TokenPair>("/v1/auth/token", {
      method: "POST",
      body: form,
      auth: false,
    });
    this.setToken(pair.access_token); // the refresh token in the body is ignored on purpose
  }

  async logout(): Promise<void> {
    try {
      if (this.accessToken) await this.request<void>("/v1/auth/logout", { method: "POST" });
    } finally {
      this.setToken(null);
    }
  }

  signup(email: string, password: string) {
    return this.request<{ verification_required: boolean }>("/v1/auth/signup", {
      method: "POST",
      json: { email, password },
      auth: false,
    });
  }

  verifyEmail(token: string) {
    return this.request<void>("/v1/auth/verify-email", { method: "POST", json: { token }, auth: false });
  }

  requestPasswordReset(email: string) {
    return this.request<void>("/v1/auth/password-reset", { method: "POST", json: { email }, auth: false });
  }

  confirmPasswordReset(token: string, newPassword: string) {
    return this.request<void>("/v1/auth/password-reset/confirm", {
      method: "POST",
      json: { token, new_password: newPassword },
      auth: false,
    });
  }

  me() {
    return this.request<Me>("/v1/me");
  }

  // ---- catalog, jobs ----

  styles() {
    return this.request<Style[]>("/v1/styles");
  }

  platforms() {
    return this.request<Platform[]>("/v1/platforms");
  }

  submitJob(form: FormData, idempotencyKey: string) {
    return this.request<Job>("/v1/jobs", {
      method: "POST",
      body: form,
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  /** The preview of a style: a public JPEG (no token needed), so a plain <img src>. */
  stylePreviewUrl(id: string): string {
    return `${this.baseUrl}/v1/styles/${encodeURIComponent(id)}/preview`;
  }

  job(id: string, signal?: AbortSignal) {
    return this.request<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
  }

  jobs(limit: number, offset: number) {
    return this.request<JobPage>(`/v1/jobs?limit=${limit}&offset=${offset}`);
  }

  /** GET /v1/jobs/{id}/events, resuming after `lastEventId`. */
  jobEvents(id: string, lastEventId: string, signal: AbortSignal) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    return this.raw(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers, signal });
  }

  // Re-runs of one image: each answers 202 with a new job of that one image (`rerun_of`).

  /** Fine-tunes one result (brightness, saturation, detail, style strength). */
  adjustImage(jobId: string, index: number, body: AdjustBody) {
    return this.request<Job>(`${imagePath(jobId, index)}/adjust`, { method: "POST", json: body });
  }

  /** Cleans the original again with brush masks (`mask`, `keep_mask`) or `erase_texts`. */
  cleanImage(jobId: string, index: number, form: FormData) {
    return this.request<Job>(`${imagePath(jobId, index)}/clean`, { method: "POST", body: form });
  }

  /** Runs a failed image again with its job's options. */
  retryImage(jobId: string, index: number) {
    return this.request<Job>(`${imagePath(jobId, index)}/retry`, { method: "POST" });
  }

  /** A result (image or ZIP) as a blob, with the file name from Content-Disposition. */
  async download(path: string, signal?: AbortSignal): Promise<{ blob: Blob; filename: string | null }> {
    const response = await this.raw(path, { signal, headers: { Accept: "*/*" } });
    const blob = await response.blob();
    return { blob, filename: filenameFrom(response.headers.get("Content-Disposition")) };
  }

  // ---- billing ----

  plans() {
    return this.request<PlansResponse>("/v1/billing/plans");
  }

  checkout(item: { plan: string } | { pack: string }, successUrl: string, cancelUrl: string) {
    return this.request<{ url: string }>("/v1/billing/checkout", {
      method: "POST",
      json: { ...item, success_url: successUrl, cancel_url: cancelUrl },
    });
  }

  portal() {
    return this.request<{ url: string }>("/v1/billing/portal", { method: "POST", json: {} });
  }

  // ---- team: members, invitations, API keys ----

  members() {
    return this.request<MembersResponse>("/v1/teams/members");
  }

  invite(email: string, role: "member" | "admin") {
    return this.request<Invitation>("/v1/teams/members", { method: "POST", json: { email, role } });
  }

  removeMember(userId: string) {
    return this.request<void>(`/v1/teams/members/${encodeURIComponent(userId)}`, { method: "DELETE" });
  }

  /**
   * Joins the team of an invitation: the answer is a pair for a session on that team, taken
   * like a sign-in's (the refresh token of the body is ignored: the gateway set the cookie).
   */
  async acceptInvitation(token: string): Promise<void> {
    const pair = await this.request<TokenPair>(`/v1/teams/invitations/${encodeURIComponent(token)}/accept`, {
      method: "POST",
      json: {},
    });
    this.setToken(pair.access_token);
  }

  apiKeys() {
    return this.request<ApiKey[]>("/v1/api-keys");
  }

  createApiKey(name: string, scopes: Scope[]) {
    return this.request<ApiKeyCreated>("/v1/api-keys", { method: "POST", json: { name, scopes } });
  }

  revokeApiKey(id: string) {
    return this.request<void>(`/v1/api-keys/${encodeURIComponent(id)}`, { method: "DELETE" });
  }
}

/** The body of POST /v1/jobs/{id}/images/{n}/adjust. */
export interface AdjustBody {
  /** 0-based: which of the image's results. */
  candidate: number;
  brightness: number;
  saturation: number;
  detail: number;
  strength: number;
}

/** `/v1/jobs/{id}/images/{n}`: an image of a job (its original, results and re-runs). */
export function imagePath(jobId: string, index: number): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/images/${index}`;
}

/** The file name of a Content-Disposition header (RFC 6266: filename* first). */
export function filenameFrom(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // fall through to the ASCII name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  return plain ? plain[1].trim() : null;
}

/** The one client of the app. */
export const api = new ApiClient();
