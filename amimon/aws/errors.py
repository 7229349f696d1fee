"""Every failure from boto3 or botocore, turned into one ``AwsError`` a person can act on.

Messages say what went wrong and what to do; they never say what amimon will do next
(retry, back off, stop): that is for the caller, which knows.
"""

from __future__ import annotations

from typing import Any

from amimon.model import ErrorKind, PollFailure, Target


class AwsError(Exception):
    """A failed AWS call, classified, with a message a person can act on."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        target: Target | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.target = target
        self.request_id = request_id
        self.code = code

    def to_failure(self) -> PollFailure:
        return PollFailure(
            kind=self.kind,
            message=self.message,
            target=self.target,
            request_id=self.request_id,
            code=self.code,
        )


_THROTTLE_CODES = {"RequestLimitExceeded", "Throttling", "ThrottlingException"}
_PERMISSION_CODES = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_REJECTED_CODES = {
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "OptInRequired",
}
_SERVER_CODES = {"InternalError", "InternalFailure", "Unavailable", "ServiceUnavailable"}


def where(target: Target | None) -> str:
    """`` (profile prod, us-east-1)``: which target a message is about."""
    if target is None:
        return ""
    parts = []
    if target.profile:
        parts.append(f"profile {target.profile}")
    if target.region:
        parts.append(target.region)
    return f" ({', '.join(parts)})" if parts else ""


def login_hint(target: Target | None) -> str:
    profile = target.profile if target and target.profile else None
    sso = f"aws sso login --profile {profile}" if profile else "aws sso login"
    return f"refresh your credentials (for IAM Identity Center: `{sso}`)"


def _classify_client_error(exc: Any, target: Target | None, action: str) -> AwsError:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    code = str(error.get("Code", "") or "")
    aws_message = str(error.get("Message", "") or "").strip()
    meta = response.get("ResponseMetadata", {}) or {}
    request_id = meta.get("RequestId") or None
    status = meta.get("HTTPStatusCode")
    at = where(target)
    detail = f": {aws_message}" if aws_message else ""

    def make(kind: ErrorKind, message: str) -> AwsError:
        return AwsError(kind, message, target=target, request_id=request_id, code=code or None)

    if code in _THROTTLE_CODES:
        return make(
            ErrorKind.THROTTLED,
            f"AWS is throttling {action}{at}: the limit is shared by every caller in the "
            "account and region",
        )
    if code in _PERMISSION_CODES:
        return make(
            ErrorKind.PERMISSION, f"Not permitted{at}: the identity needs ec2:{action}{detail}"
        )
    if code in _EXPIRED_CODES:
        return make(ErrorKind.CREDENTIALS, f"Credentials expired{at}: {login_hint(target)}")
    if code in _REJECTED_CODES:
        return make(
            ErrorKind.CREDENTIALS,
            f"AWS rejected the credentials{at} ({code}){detail}; {login_hint(target)}",
        )
    if code in _SERVER_CODES or (isinstance(status, int) and status >= 500):
        return make(
            ErrorKind.SERVER,
            f"AWS had a server error{at} (HTTP {status}, {code or 'no code'})",
        )
    if code.startswith("Invalid") or code in {"MissingParameter", "UnknownParameter"}:
        return make(ErrorKind.BAD_REQUEST, f"AWS refused the request{at} ({code}){detail}")
    return make(ErrorKind.UNKNOWN, f"AWS error{at} ({code or status}){detail}")


def classify(
    exc: BaseException, target: Target | None = None, action: str = "DescribeStoreImageTasks"
) -> AwsError:
    """Turn any exception from boto3/botocore into an ``AwsError`` with an actionable message."""
    if isinstance(exc, AwsError):
        return exc
    from botocore import exceptions as bce
    from botocore.parsers import ResponseParserError

    at = where(target)
    name = type(exc).__name__
    if isinstance(exc, bce.ClientError):
        return _classify_client_error(exc, target, action)
    if isinstance(exc, ResponseParserError):
        # Neither ClientError nor BotoCoreError: a garbled body, often a proxy's error page.
        return AwsError(
            ErrorKind.BAD_RESPONSE,
            f"AWS sent a response that could not be read{at}",
            target=target,
        )
    if isinstance(exc, bce.ProfileNotFound):
        return AwsError(
            ErrorKind.CONFIG,
            f"AWS profile {getattr(exc, 'kwargs', {}).get('profile', '?')!r} is not in your "
            "AWS config: check --profile / AWS_PROFILE (`aws configure list-profiles`)",
            target=target,
        )
    if isinstance(exc, bce.NoRegionError):
        return AwsError(
            ErrorKind.CONFIG,
            f"No AWS region{at}: pass --region, set AWS_REGION, or set one for the profile",
            target=target,
        )
    if isinstance(exc, bce.InvalidRegionError):
        return AwsError(ErrorKind.CONFIG, f"Invalid region name{at}: {exc}", target=target)
    sso_errors: tuple[type[BaseException], ...] = (
        bce.SSOTokenLoadError,
        bce.UnauthorizedSSOTokenError,
        bce.TokenRetrievalError,
    )
    if isinstance(exc, sso_errors):
        profile = target.profile if target and target.profile else None
        cmd = f"aws sso login --profile {profile}" if profile else "aws sso login"
        return AwsError(
            ErrorKind.CREDENTIALS, f"SSO session expired or missing{at}: run `{cmd}`", target=target
        )
    if isinstance(exc, bce.NoCredentialsError):
        return AwsError(
            ErrorKind.CREDENTIALS,
            f"No AWS credentials found{at}: pass --profile or set AWS_PROFILE, "
            "or run `aws configure` / `aws sso login`",
            target=target,
        )
    if isinstance(exc, bce.PartialCredentialsError | bce.CredentialRetrievalError):
        return AwsError(
            ErrorKind.CREDENTIALS,
            f"Could not load AWS credentials{at} ({name}): {login_hint(target)}",
            target=target,
        )
    if isinstance(exc, bce.ReadTimeoutError | bce.ConnectTimeoutError):
        return AwsError(ErrorKind.NETWORK, f"Timed out talking to AWS{at}", target=target)
    if isinstance(exc, bce.EndpointConnectionError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return AwsError(
            ErrorKind.NETWORK,
            f"Could not connect to {url}{at}: check the network, proxy or --endpoint-url",
            target=target,
        )
    if isinstance(exc, bce.HTTPClientError | bce.ConnectionError):
        return AwsError(
            ErrorKind.NETWORK, f"Network error talking to AWS{at} ({name})", target=target
        )
    if isinstance(exc, bce.ParamValidationError):
        return AwsError(ErrorKind.BAD_REQUEST, f"Invalid request{at}: {exc}", target=target)
    return AwsError(ErrorKind.UNKNOWN, f"Unexpected error{at} ({name}): {exc}", target=target)
