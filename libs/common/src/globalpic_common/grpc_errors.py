"""GlobalPic errors <-> gRPC status, both ways, so a stable code survives the network.

The server answers a ``GlobalPicError`` with a status code for its class and an
``ErrorDetail`` (code + message) in the trailing metadata; the client turns the pair back
into the same class with the same code. A status without a detail (the peer is down, the
deadline passed) becomes a ``ServiceUnavailableError``.
"""

from __future__ import annotations

import grpc

from globalpic.common.v1 import common_pb2
from globalpic_common import errors
from globalpic_common.errors import (
    BadInputError,
    ConflictError,
    GlobalPicError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
)

# "-bin" keys carry bytes (gRPC base64s them on the wire).
ERROR_METADATA_KEY = "globalpic-error-bin"


# The account errors travel as their own status codes, so each comes back as its class.
_STATUS_BY_CLASS: tuple[tuple[type[GlobalPicError], grpc.StatusCode], ...] = (
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
)
_CLASS_BY_STATUS = {status: cls for cls, status in _STATUS_BY_CLASS}
# RateLimitedError's retry_after_s rides in the detail's message as a suffix.
_RETRY_AFTER = " [retry_after_s="


def status_for(exc: GlobalPicError) -> grpc.StatusCode:
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    if isinstance(exc, BadInputError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, ServiceUnavailableError):
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(exc, ModelUnavailableError):
        return grpc.StatusCode.FAILED_PRECONDITION
    return grpc.StatusCode.INTERNAL


def error_trailers(exc: GlobalPicError) -> tuple[tuple[str, bytes], ...]:
    message = exc.message
    if isinstance(exc, RateLimitedError):
        message = f"{message}{_RETRY_AFTER}{exc.retry_after_s}]"
    detail = common_pb2.ErrorDetail(code=exc.code, message=message)
    return ((ERROR_METADATA_KEY, detail.SerializeToString()),)


def _detail(call: grpc.Call) -> common_pb2.ErrorDetail | None:
    for key, value in call.trailing_metadata() or ():
        if key == ERROR_METADATA_KEY and isinstance(value, bytes):
            return common_pb2.ErrorDetail.FromString(value)
    return None


def error_from_rpc(exc: grpc.RpcError, peer: str) -> GlobalPicError:
    """The ``GlobalPicError`` a failed call stands for (``peer`` names the service in it)."""
    if not isinstance(exc, grpc.Call):  # every RpcError from a blocking stub call is a Call
        return ServiceUnavailableError(f"{peer}: {exc}")
    status = exc.code()
    detail = _detail(exc)
    if detail is not None:
        account_error = _CLASS_BY_STATUS.get(status)
        if account_error is RateLimitedError:
            message, _, retry = detail.message.partition(_RETRY_AFTER)
            retry_after = int(retry.rstrip("]")) if retry.rstrip("]").isdigit() else 60
            return RateLimitedError(message, code=detail.code, retry_after_s=retry_after)
        if account_error is not None:
            return account_error(detail.message, code=detail.code)
        if status == grpc.StatusCode.INVALID_ARGUMENT:
            return BadInputError(detail.message, code=detail.code)
        if status == grpc.StatusCode.FAILED_PRECONDITION:
            return ModelUnavailableError(f"{peer}: {detail.message}", code=detail.code)
        if status == grpc.StatusCode.UNAVAILABLE:
            return ServiceUnavailableError(f"{peer}: {detail.message}", code=detail.code)
        return GlobalPicError(f"{peer}: {detail.message}", code=detail.code)
    message = f"{peer}: {status.name} {exc.details() or ''}".rstrip()
    if status == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ServiceUnavailableError(message, code=errors.SERVICE_TIMEOUT)
    if status == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (exc.details() or ""):
        # Over the message size limit: retrying cannot help, the image is too big to send.
        return BadInputError(message, code=errors.IMAGE_TOO_LARGE)
    if status in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
        return BadInputError(message)
    # CANCELLED without our detail: the server cancelled the call while stopping (a rollout,
    # a scale-down), which is as retryable as UNAVAILABLE.
    if status in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
    ):
        return ServiceUnavailableError(message)
    return GlobalPicError(message)
