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
/** A marketplace frame (globalpic_common.platforms.Platform): the size resize writes. */
export interface Platform {
  id: string;
  name: string;
  width: number;
  height: number;
  min_side?: number;
  white_background?: boolean;
  notes?: string;
}

export type ImageState = "queued" | "running" | "completed" | "failed";
export type JobStatus = "queued" | "running" | "completed" | "failed";

export interface ErrorInfo { code: string; message: string }
/** A marketplace rule checked on a result (globalpic_common.schemas.RuleResult). */
export interface RuleResult {
  rule: string;
  passed: boolean;
  message: string;
  measured?: number | null;
  required?: number | null;
}
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
/** A copy rule on one variant (`variant` null: on the set); `required` is the limit. */
export interface CopyCheck {
  rule: string;
  variant?: number | null;
  passed: boolean;
  message?: string;
  measured?: number | null;
  required?: number | null;
}
export interface CopyReport {
  platform: string;
  variants: CopyVariant[];
  passed: boolean;
  checks?: CopyCheck[];
}

export type TextAction = "erased" | "kept" | "kept_uncertain";
/** A text line `clean` found, and what it did with it. */
export interface TextRegion {
  box: [number, number][];
  text: string;
  confidence: number;
  kind: "overlay" | "product" | "scene";
  action: TextAction;
  /** 0..1; ≥ 0.5 reads as an overlay. */
  overlay_score: number;
  /** The measured cues behind the decision. */
  cues: Record<string, number>;
}

export interface ImageReport {
  input: string;
  texts?: TextRegion[];
  /** The first copy platform's copy (older jobs: the only one). */
  copy?: CopyReport | null;
  /** One copy per copy platform, in the order asked for. */
  copies?: CopyReport[];
  checks?: RuleResult[];
}

export interface Output {
  candidate: number;
  url: string;
  content_type: string;
  /** Fetchable without credentials until signed_url_expires_at (GET /v1/jobs/{id} only). */
  signed_url?: string | null;
  signed_url_expires_at?: string | null;
}
export interface JobImage {
  index: number;
  filename: string;
  state: ImageState;
  stage: string | null;
  percent: number;
  cached: boolean;
  attempts?: number;
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
export interface JobOptionsOut {
  ops: string[];
  style: string | null;
  platform: string | null;
  candidates: number;
  keywords?: string[];
  facts?: string;
  copy_platforms?: string[];
  /** The seller's own background took the place of a style. */
  background?: boolean;
  /** An adjust re-run's values (its ops: ["adjust"]). */
  adjust?: { candidate: number; brightness: number; saturation: number; detail: number; strength: number } | null;
}
export interface JobSummary {
  id: string;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  options: JobOptionsOut;
  image_count: number;
  counts: Record<string, number>;
  links: JobLinks;
}
/** Which image of which job a re-run (adjust, clean, retry) was made from. */
export interface RerunOf { job_id: string; image: number }
/** JobOut: the answer of POST /v1/jobs, GET /v1/jobs/{id} and the re-run routes. */
export interface Job extends JobSummary {
  images: JobImage[];
  rerun_of?: RerunOf | null;
}
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
