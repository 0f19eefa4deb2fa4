"""Errors with stable codes.

Every error a user can see carries a machine-readable ``code`` that never changes once
published (the CLI prints it, the REST API will return it as ``application/problem+json``),
and a one-line human message. Bad input is a ``BadInputError``; anything else is internal.
"""

from __future__ import annotations


class GlobalPicError(Exception):
    """Base class: an error with a stable code and a one-line message."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class BadInputError(GlobalPicError):
    """The caller's input cannot be processed (CLI exit code 2, HTTP 4xx)."""

    code = "bad_input"


class ServiceUnavailableError(GlobalPicError):
    """A peer service cannot be reached, is not ready, or did not answer in time (retryable;
    HTTP 503)."""

    code = "service_unavailable"


class UnauthenticatedError(GlobalPicError):
    """The credential is missing, wrong, expired or revoked (HTTP 401)."""

    code = "unauthorized"


class PermissionDeniedError(GlobalPicError):
    """The caller is known but its role, plan or scopes do not allow this (HTTP 403)."""

    code = "forbidden"


class NotFoundError(GlobalPicError):
    """The thing named does not exist, or not for this caller (HTTP 404)."""

    code = "not_found"


class ConflictError(GlobalPicError):
    """The request clashes with what exists (an email already registered; HTTP 409)."""

    code = "conflict"


class RateLimitedError(GlobalPicError):
    """Too many attempts; ``retry_after_s`` says when to try again (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, code: str | None = None, retry_after_s: int = 60) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class ModelUnavailableError(GlobalPicError):
    """A model's weights are not where the configuration says (setup problem, not user input)."""

    code = "model_unavailable"


# Stable codes for bad input. Adding codes is fine; renaming one breaks clients.
FILE_NOT_FOUND = "file_not_found"
FILE_TOO_LARGE = "file_too_large"
IMAGE_TOO_SMALL = "image_too_small"
IMAGE_TOO_LARGE = "image_too_large"  # decompression-bomb guard (pixel count)
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_IMAGE = "corrupt_image"
BAD_MASK = "bad_mask"
BAD_OPTION = "bad_option"
UNKNOWN_PLATFORM = "unknown_platform"
BAD_SIZE = "bad_size"
UNKNOWN_STYLE = "unknown_style"
NO_PRODUCT = "no_product"  # a white-background or fill rule needs a product to keep
BAD_TEXT_LINE = "bad_text_line"  # not a quad of 4 finite points, or a confidence out of [0, 1]
SIZE_MISMATCH = "size_mismatch"  # two images of one request differ in height or width

# A job's image that will not be done because the job was canceled (or deleted) first.
CANCELED = "canceled"

# Stable codes for a peer service that failed to answer (ServiceUnavailableError).
SERVICE_UNAVAILABLE = "service_unavailable"
SERVICE_TIMEOUT = "service_timeout"  # the call's deadline passed before the peer answered

# Storage (services/storage): keys are tenant-scoped, so a key outside the caller's tenant is
# refused rather than looked up.
BAD_TENANT_ID = "bad_tenant_id"
BAD_KEY = "bad_key"  # not a storage key at all (malformed, traversal attempt)
FORBIDDEN_KEY = "forbidden_key"  # a well-formed key of another tenant
OBJECT_NOT_FOUND = "object_not_found"
EMPTY_OBJECT = "empty_object"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
BAD_SIGNATURE = "bad_signature"  # a signed download URL that was tampered with or malformed
URL_EXPIRED = "url_expired"
# Not user input: the object store failed (ServiceUnavailableError) or is misconfigured.
STORAGE_UNAVAILABLE = "storage_unavailable"

# Copywriting (services/copywriting): the configured language model failed to answer usable copy
# (unreachable, rate-limited or erroring after retries, malformed JSON twice) and no offline
# fallback was allowed (ServiceUnavailableError: retryable).
COPY_BACKEND_ERROR = "copy_backend_error"

# Accounts (services/auth). UnauthenticatedError: bad_credentials, token_invalid, token_expired,
# token_reused; RateLimitedError: account_locked; ConflictError: email_taken; BadInputError:
# weak_password, bad_email; PermissionDeniedError: forbidden, email_not_verified, last_owner.
UNAUTHORIZED = "unauthorized"  # no credential, or one nobody issued
BAD_CREDENTIALS = "bad_credentials"
TOKEN_INVALID = "token_invalid"
TOKEN_EXPIRED = "token_expired"
TOKEN_REUSED = "token_reused"
ACCOUNT_LOCKED = "account_locked"
EMAIL_TAKEN = "email_taken"
WEAK_PASSWORD = "weak_password"
BAD_EMAIL = "bad_email"
FORBIDDEN = "forbidden"
EMAIL_NOT_VERIFIED = "email_not_verified"
LAST_OWNER = "last_owner"
NOT_FOUND = "not_found"

# Billing (services/billing).
UNKNOWN_PLAN = "unknown_plan"
UNKNOWN_PACK = "unknown_pack"
NO_CUSTOMER = "no_customer"  # the portal before the team ever paid
STRIPE_UNAVAILABLE = "stripe_unavailable"
