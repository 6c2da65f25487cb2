"""Where the jobs read and write: a local folder under `fargo up`, an S3 prefix on AWS.

Both go through the same three calls, so the code that runs on a laptop is the code that runs in
the container and on Lambda. A location is a URL from the environment: `s3://bucket/prefix`, or a
folder (relative to the project). See local_environment_variables in .fargo/config.json.
"""

import os
from pathlib import Path


class Folder:
    def __init__(self, path):
        self.path = Path(path)
        self.url = str(self.path)

    def read(self, name):
        """The object's text, or None when nothing is there yet."""
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, name, text):
        """Written to a temporary name, then renamed: a reader never sees half a file."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)

    def list(self, prefix=""):
        """(name, modified time in epoch seconds) of every object under prefix, sorted."""
        base = self.path / prefix
        if not base.is_dir():
            return []
        return sorted((str(p.relative_to(self.path)), p.stat().st_mtime)
                      for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))

    def delete(self, name):
        (self.path / name).unlink(missing_ok=True)


class S3Prefix:
    def __init__(self, bucket, prefix):
        import boto3  # on Lambda and in the image (fargo build adds it when requirements don't)

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}"
        self.s3 = boto3.client("s3")

    def _key(self, name):
        return f"{self.prefix}/{name}" if self.prefix else name

    def read(self, name):
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        return body.read().decode("utf-8")

    def write(self, name, text):
        self.s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=text.encode("utf-8"))

    def list(self, prefix=""):
        start = self._key(prefix)
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=start):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) + 1:] if self.prefix else item["Key"]
                found.append((name, item["LastModified"].timestamp()))
        return sorted(found)

    def delete(self, name):
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(name))


def location(variable, default):
    """The location named by the environment variable (a folder when it is not s3://...)."""
    url = os.environ.get(variable, default)
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://"):].partition("/")
        return S3Prefix(bucket, prefix)
    return Folder(url)
