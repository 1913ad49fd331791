"""The media-store settings read alike in both processes that use them (profile-ingest stores, the
gateway serves), including compose's empty `${VAR:-}` for an unset one."""

import pytest

from libs.blobs import FileBlobStore
from libs.blobs.s3 import S3BlobStore
from services.gateway.settings import GatewaySettings
from services.profile_ingest.settings import IngestSettings


@pytest.mark.parametrize("settings_class", [GatewaySettings, IngestSettings])
def test_empty_s3_settings_are_unset_and_choose_the_backend(
    settings_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MEDIA_S3_ENDPOINT_URL", "MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("MEDIA_STORE", "s3")
    settings = settings_class()
    assert settings.media_s3_endpoint_url is None and settings.media_s3_secret_access_key is None
    assert isinstance(settings.blob_store(), S3BlobStore)
    monkeypatch.setenv("MEDIA_STORE", "file")
    monkeypatch.setenv("MEDIA_DIR", "/srv/media")
    store = settings_class().blob_store()
    assert isinstance(store, FileBlobStore) and str(store.root) == "/srv/media"


def test_the_allowed_image_hosts_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_ALLOWED_HOSTS", " *.CDNinstagram.com, *.fbcdn.net ,")
    monkeypatch.setenv("MEDIA_PRIVATE_HOSTS", "")
    settings = IngestSettings()
    assert settings.media_allowed_hosts == ["*.cdninstagram.com", "*.fbcdn.net"]
    assert settings.media_private_hosts == []
