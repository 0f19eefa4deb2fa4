// The JSON the gateway answers (the subset the app reads).

export interface User { id: string; email: string; email_verified: boolean; created_at: string }
export interface Team { id: string; name: string; personal: boolean }
export type Role = "owner" | "admin" | "member";

export interface Plan {
  id: string;
  name: string;
  monthly_price_cents: number;
  image_price_cents: number;
  included_images: number;
  max_batch: number;
  max_output_px: number;
  fair_use_images?: number;
  api_keys: boolean;
  team_members: boolean;
  subscription: boolean;
}
export interface Pack { id: string; images: number; price_cents: number }
export interface PlansResponse { plans: Plan[]; packs: Pack[] }

export interface Account {
  plan: Plan;
  remaining_images: number | null;
  credits: number;
  trial_remaining?: number;
  subscription_status?: string | null;
  current_period_end?: string | null;
  images_this_month?: number;
  throttled?: boolean;
}

export interface Me {
  user: User | null;
  team: Team | null;
  role: Role;
  teams: Team[];
  credential: string;
  account: Account | null;
}

export interface TokenPair {
  access_token: string;
  refresh_token?: string; // ignored: the refresh token lives in the httpOnly cookie
  token_type: string;
  expires_in: number;
}

export interface Style { id: string; name_en?: string; name_zh?: string; name?: string; description?: string }
export interface Platform { id: string; name: string; width: number; height: number }

export type ImageState = "queued" | "running" | "completed" | "failed";
export type JobStatus = "queued" | "running" | "completed" | "failed";

export interface ErrorInfo { code: string; message: string }
export interface RuleResult { rule: string; passed: boolean; message: string }
export interface CopyVariant {
  title: string;
  bullets: string[];
  description: string;
  meta_description: string;
  search_terms: string;
  caption: string;
  hashtags: string[];
  explanation_zh: string;
}
export interface CopyReport { platform: string; variants: CopyVariant[]; passed: boolean }
export interface ImageReport { input: string; copy?: CopyReport | null; checks?: RuleResult[] }

export interface Output { candidate: number; url: string; content_type: string }
export interface JobImage {
  index: number;
  filename: string;
  state: ImageState;
  stage: string | null;
  percent: number;
  cached: boolean;
  width?: number;
  height?: number;
  outputs: Output[];
  checks: RuleResult[];
  report: ImageReport | null;
  error: ErrorInfo | null;
  /** Client side only: the last ETA a progress event gave. */
  eta_seconds?: number | null;
}
export interface JobLinks { self: string; events: string; results_zip: string }
export interface JobSummary {
  id: string;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  options: { ops: string[]; style: string | null; platform: string | null; candidates: number };
  image_count: number;
  counts: Record<string, number>;
  links: JobLinks;
}
export interface Job extends JobSummary { images: JobImage[] }
export interface JobPage { items: JobSummary[]; total: number; limit: number; offset: number }

export interface ProgressData {
  input: string;
  stage: string;
  percent: number;
  job_id: string;
  image: number;
  state: ImageState;
  eta_seconds: number | null;
  error: ErrorInfo | null;
  cached?: boolean;
}
export interface CompletedData {
  job_id: string;
  status: JobStatus;
  images: number;
  completed: number;
  failed: number;
  cached: number;
  finished_at: string | null;
}

// Teams and API keys (owners / admins manage them; Enterprise).
export type Scope = "jobs:read" | "jobs:write";
export interface Member { user_id: string; email: string; role: Role; joined_at: string }
export interface Invitation { id: string; email: string; role: Role; expires_at: string }
export interface MembersResponse { members: Member[]; invitations: Invitation[] }
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
/** The answer of POST /v1/api-keys: `key` is shown this once. */
export interface ApiKeyCreated extends ApiKey { key: string }
