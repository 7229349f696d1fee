"""The AWS edge: the only package outside ``amimon.sim`` that uses botocore, always lazily."""

from __future__ import annotations

from amimon.aws.clients import StaticCredentials
from amimon.aws.errors import AwsError, classify
from amimon.aws.source import Ec2TaskSource, Query

__all__ = ["AwsError", "Ec2TaskSource", "Query", "StaticCredentials", "classify"]
