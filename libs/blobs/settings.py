"""Where media copies are kept: the settings every process that stores or serves them reads (profile-ingest
stores, the gateway serves), so both name the same store."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from libs.blobs.store import BlobStore, FileBlobStore


class MediaStoreSettings(BaseSettings):
    # file: a directory (`make run`); s3: an S3-compatible bucket (MinIO in docker compose).
    media_store: Literal["file", "s3"] = "file"
    media_dir: str = "media"
    media_s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    media_s3_bucket: str = Field(default="viralspot-media", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    media_s3_region: str = "us-east-1"
    media_s3_access_key_id: str | None = None
    media_s3_secret_access_key: SecretStr | None = None
    media_s3_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator(
        "media_s3_endpoint_url", "media_s3_access_key_id", "media_s3_secret_access_key", mode="before"
    )
    @classmethod
    def _empty_media_setting_is_unset(cls, value: Any) -> Any:
        # docker compose passes `${VAR:-}` as an empty string when the operator sets none. (Named apart
        # from the services' own validators, which would otherwise replace it in their settings classes.)
        return None if value == "" else value

    def blob_store(self) -> BlobStore:
        if self.media_store == "file":
            return FileBlobStore(self.media_dir)
        from libs.blobs.s3 import S3BlobStore  # only processes configured for S3 load botocore

        secret = self.media_s3_secret_access_key
        return S3BlobStore(
            bucket=self.media_s3_bucket,
            endpoint_url=self.media_s3_endpoint_url,
            region=self.media_s3_region,
            access_key_id=self.media_s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            timeout_s=self.media_s3_timeout_s,
        )
