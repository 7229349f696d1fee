"""amimon: a terminal monitor for AWS EC2 AMI store tasks."""

__version__ = "0.1.0"
