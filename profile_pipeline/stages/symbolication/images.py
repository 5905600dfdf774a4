"""Symbolicator module statuses merged into a profile's images, and the errors they raise (SPEC §4.5)."""

from __future__ import annotations

import re
from typing import Any

# Apple app bundles (device and simulator) and user paths hold the app's own images; system paths
# hold third-party images whose missing debug files are not the user's to upload.
_APP_BUNDLE_PATHS = ("/var/containers/Bundle/Application/", "/private/var/containers/Bundle/Application/")
_SIMULATOR_PATH, _SIMULATOR_APP_PATH = "/Developer/CoreSimulator/Devices/", "/Containers/Bundle/Application/"
_SYSTEM_PATHS = ("/System/", "/usr/lib/", "/lib/", "/Library/", "/Developer/", "/private/preboot/", "/usr/libexec/")
_WINDOWS_SYSTEM_PATH = re.compile(r"^[a-z]:\\windows", re.IGNORECASE)

_FATAL, _ERROR = "flag.processing.fatal", "flag.processing.error"


def is_known_third_party(package: str) -> bool:
    if package.startswith(_APP_BUNDLE_PATHS) or (_SIMULATOR_PATH in package and _SIMULATOR_APP_PATH in package):
        return False
    return package.startswith(_SYSTEM_PATHS) or bool(_WINDOWS_SYSTEM_PATH.match(package))


def is_optional_package(package: str) -> bool:
    """The Swift runtime libraries an app bundles: their debug files are optional."""
    lowered = package.lower()
    return "/frameworks/libswift" in lowered or "/swiftsupport/" in lowered


def merge_image(raw_image: dict[str, Any], complete_image: dict[str, Any], profile: dict[str, Any]) -> None:
    """Copy Symbolicator's module keys into the raw image and record its debug/unwind status errors."""
    for key, value in complete_image.items():
        if value is None or (key in ("arch", "type") and value == "unknown"):
            continue
        raw_image[key] = value
    statuses = {raw_image.get("debug_status"), raw_image.get("unwind_status")} - {None}
    for status in sorted(statuses):
        _write_status_error(status, raw_image, profile)


def _write_status_error(status: str, image: dict[str, Any], profile: dict[str, Any]) -> None:
    error_type: str | None = None
    append, flag = True, None
    if status == "unsupported":
        error_type = "native_unsupported_dsym"
    elif status == "missing":
        package = image.get("code_file")
        if not package or is_known_third_party(package) or image.get("type") == "pe_dotnet":
            return
        if is_optional_package(package):
            error_type = "native_optionally_bundled_dsym"
        else:
            error_type, flag = "native_missing_dsym", _FATAL
    elif status == "malformed":
        error_type, flag = "native_bad_dsym", _FATAL
    elif status == "too_large":
        error_type, append, flag = "fetch_too_large", False, _ERROR
    elif status == "fetching_failed":
        error_type = "fetch_generic_error"
    elif status == "other":
        error_type, append, flag = "unknown_error", False, _ERROR
    if error_type is None:  # found, unused, timeout and anything unknown: nothing to report
        return
    if append:
        error: dict[str, Any] = {"type": error_type, "message": "None"}
        for key, source in (("image_path", "code_file"), ("image_uuid", "debug_id"), ("image_arch", "arch")):
            if image.get(source) is not None:
                error[key] = image[source]
        profile.setdefault("errors", []).append(error)
    if flag is not None:
        profile.setdefault("_metrics", {})[flag] = True
