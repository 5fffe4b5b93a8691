"""A real S3 HTTP API on 127.0.0.1 for tests: moto in server mode, one bucket per test.

The server runs in a thread of the test process and is reached by DVC (dvc-s3) in its
subprocesses through the remote's `endpointurl`; credentials are dummy values in the
environment. Nothing leaves the machine.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/dvcstore"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def stored_keys(self) -> set[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def object_key(self, md5: str) -> str:
        return f"dvcstore/files/md5/{md5[:2]}/{md5[2:]}"

    def delete(self, md5: str) -> None:
        self.client().delete_object(Bucket=self.bucket, Key=self.object_key(md5))

    def configure(self, repo: Path, run, env: Mapping[str, str], name: str = "s3") -> None:
        """Make `name` the project's default DVC remote (local config: the URL has a port)."""
        run(repo, "dvc", "remote", "add", "--local", "-f", "-d", name, self.url, env=env)
        run(repo, "dvc", "remote", "modify", "--local", name, "endpointurl", self.endpoint, env=env)


def moto_server() -> Iterator[str]:
    """Start moto's S3 server on a free local port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
